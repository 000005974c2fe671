/**
 * A file's bytes as text, in its resource's encoding: UTF-8, or one of the single-byte
 * encodings of the WHATWG Encoding Standard (windows-1252, iso-8859-15, koi8-r…). Those keep
 * ASCII's bytes, so records are found in the bytes (records.ts) before they are decoded.
 */
import { isUtf8 } from 'node:buffer';

export type TextDecoding = {
  /** The encoding's name, for a quarantine reason. */
  name: string;
  /** Whether all these bytes are of the encoding, checked at once (UTF-8 only: else false). */
  checkAll(bytes: Buffer): boolean;
  /** The text of bytes (`checked`: by checkAll); throws when they are not of the encoding. */
  decode(bytes: Buffer, checked: boolean): string;
  /** The text as well as it reads, for a quarantined record's raw text. */
  loose(bytes: Buffer): string;
};

// ignoreBOM: a byte order mark inside a file is text (staging skips the file's own).
const fatal = (name: string) => new TextDecoder(name, { fatal: true, ignoreBOM: true });

const UTF8: TextDecoding = (() => {
  const strict = fatal('utf-8');
  return {
    name: 'UTF-8',
    checkAll: (bytes) => isUtf8(bytes),
    decode: (bytes, checked) => (checked ? bytes.toString('utf8') : strict.decode(bytes)),
    loose: (bytes) => bytes.toString('utf8'),
  };
})();

const decodings = new Map<string, TextDecoding>([['utf-8', UTF8]]);

/** The decoding of an encoding the descriptor accepted (its WHATWG name). */
export function decodingFor(encoding: string): TextDecoding {
  let d = decodings.get(encoding);
  if (!d) {
    const strict = fatal(encoding);
    const loose = new TextDecoder(encoding, { ignoreBOM: true });
    d = {
      name: encoding,
      checkAll: () => false,
      decode: (bytes) => strict.decode(bytes),
      loose: (bytes) => loose.decode(bytes),
    };
    decodings.set(encoding, d);
  }
  return d;
}
