/**
 * A file's bytes as text, in its resource's encoding: UTF-8, or one of the single-byte
 * encodings of the WHATWG Encoding Standard (windows-1252, iso-8859-15, koi8-r…). Those keep
 * ASCII's bytes, so records are found in the bytes (records.ts) before they are decoded.
 */
import { isUtf8 } from 'node:buffer';

export type TextDecoding = {
  /** The encoding's name, for a quarantine reason. */
  name: string;
  /**
   * How the records of a range are decoded: a record's text, or a throw when its bytes are not
   * of the encoding (UTF-8 is checked once for the range, a record at a time only when it fails).
   */
  forRange(range: Buffer): (record: Buffer) => string;
  /** The text as well as it reads, for a quarantined record's raw text. */
  loose(bytes: Buffer): string;
};

// ignoreBOM: a byte order mark inside a file is text (staging skips the file's own).
const fatal = (name: string) => new TextDecoder(name, { fatal: true, ignoreBOM: true });

const decodings = new Map<string, TextDecoding>();

/** The decoding of an encoding the descriptor accepted (its WHATWG name). */
export function decodingFor(encoding: string): TextDecoding {
  let d = decodings.get(encoding);
  if (!d) {
    const strict = fatal(encoding);
    const each = (record: Buffer) => strict.decode(record);
    const utf8 = encoding === 'utf-8';
    const valid = (record: Buffer) => record.toString('utf8');
    const loose = new TextDecoder(encoding, { ignoreBOM: true });
    d = {
      name: utf8 ? 'UTF-8' : encoding,
      forRange: (range) => (utf8 && isUtf8(range) ? valid : each),
      loose: (bytes) => loose.decode(bytes),
    };
    decodings.set(encoding, d);
  }
  return d;
}
