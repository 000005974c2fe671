/**
 * A byte range of a source, parsed: its records (records.ts), each skipped (blank, comment,
 * the header), quarantined with a reason, or a row of typed values (clean.ts). Parser threads
 * run it; a range holds no state beyond where it starts, and comes back as arrays that cross
 * threads cheaply.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Dialect, Table, Value } from '../dataset/model.ts';
import { packingOf } from '../dataset/packing.ts';
import { packingCleanerFor } from './clean.ts';
import { RecordScanner, type RecordSyntax } from './records.ts';
import { decodingFor } from './text.ts';

export const ROW = 0;
export const QUARANTINE = 1;
export const SKIP = 2;

/** The records of a range, in order. */
export type ParsedRecords = {
  /** Offset just past each record, and the physical line it starts on. */
  ends: Float64Array;
  lines: Float64Array;
  /** The line after the range's last record. */
  nextLine: number;
  /** ROW, QUARANTINE or SKIP, per record. */
  kinds: Uint8Array;
  /** Per row, its packed fields as one number (dataset/packing.ts). */
  packed: Float64Array;
  /** The rows' loose values (the fields not packed), one after another, `width` each. */
  values: Value[];
  width: number;
  /** Reason and raw text per QUARANTINE record, in order. */
  reasons: string[];
  raws: string[];
};

/** What a parser thread is asked: the records of `file` in [from, until), the first on `line`. */
export type RangeJob = {
  table: number;
  file: string;
  from: number;
  until: number;
  line: number;
  /** The range is one record longer than the limit: only its first bytes are read. */
  overlong: boolean;
  /** Where the header record starts (it is skipped), or -1. */
  headerAt: number;
};

/** Bytes of a quarantined record kept as its raw text: a person reads it, the file holds the rest. */
export const RAW_BYTES = 4096;
/** Fields a record may have, whatever its length: csv-parse builds an array of them. */
export const MAX_FIELDS = 10_000;

export const syntaxOf = (d: Dialect, maxBytes: number): RecordSyntax => ({
  quote: d.quoteChar ? d.quoteChar.charCodeAt(0) : -1,
  escape: d.escapeChar ? d.escapeChar.charCodeAt(0) : -1,
  doubleQuote: d.doubleQuote && d.escapeChar === null,
  delimiter: Buffer.from(d.delimiter),
  skipInitialSpace: d.skipInitialSpace,
  maxBytes,
});

/**
 * Whether `text` has more than MAX_FIELDS fields: its delimiters outside quoted fields, a quote
 * opening one only where a field starts (as RecordScanner and csv-parse's relax_quotes read it).
 */
function tooManyFields(d: Dialect, text: string): boolean {
  let fields = 1;
  let inQuotes = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === d.escapeChar) i++;
      else if (c === d.quoteChar) [inQuotes, fieldStart] = [false, d.doubleQuote && d.escapeChar === null];
    } else if (c === d.delimiter) {
      if (++fields > MAX_FIELDS) return true;
      fieldStart = true;
    } else if (c === d.quoteChar && fieldStart) {
      inQuotes = true;
    } else if (!(c === ' ' && d.skipInitialSpace)) {
      fieldStart = false;
    }
  }
  return false;
}

/** A record's text without its line end. */
const withoutLineEnd = (text: string) =>
  text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;

/** Splits a record into fields as the dialect reads them; a string is the reason it cannot. */
export function splitFields(d: Dialect, text: string): string[] | string {
  let fields: string[];
  if (!d.quoteChar || !text.includes(d.quoteChar)) {
    fields = text.split(d.delimiter);
    if (fields.length > MAX_FIELDS) return `more than ${MAX_FIELDS} fields`;
    // As csv-parse's ltrim: whitespace after each delimiter.
    if (d.skipInitialSpace) for (let i = 0; i < fields.length; i++) fields[i] = fields[i].trimStart();
    return fields;
  }
  const quoted = quotedFields(d, text);
  if (quoted) return quoted;
  // Counted exactly only when a plain split finds too many: delimiters may sit inside quotes.
  if (text.split(d.delimiter, MAX_FIELDS + 1).length > MAX_FIELDS && tooManyFields(d, text)) {
    return `more than ${MAX_FIELDS} fields`;
  }
  return csvFields(d, text);
}

/**
 * The fields of a record quoted the regular way (each quoted field closed and followed by the
 * delimiter or the end; no escape character, no initial spaces to skip; at most MAX_FIELDS),
 * read as csv-parse reads them but without a parser per record; null for anything else.
 */
export function quotedFields(d: Dialect, text: string): string[] | null {
  const quote = d.quoteChar!;
  const delimiter = d.delimiter;
  if (d.escapeChar !== null || d.skipInitialSpace) return null;
  const fields: string[] = [];
  for (let i = 0; fields.length < MAX_FIELDS;) {
    if (text[i] !== quote) {
      // Unquoted: a quote inside it is text (relax_quotes).
      const next = text.indexOf(delimiter, i);
      fields.push(text.slice(i, next === -1 ? undefined : next));
      if (next === -1) return fields;
      i = next + delimiter.length;
      continue;
    }
    let value = '';
    for (let from = i + 1; ;) {
      const close = text.indexOf(quote, from);
      if (close === -1) return null;
      value += text.slice(from, close);
      if (!(d.doubleQuote && text[close + 1] === quote)) {
        i = close + 1;
        break;
      }
      value += quote;
      from = close + 2;
    }
    fields.push(value);
    if (i === text.length) return fields;
    if (!text.startsWith(delimiter, i)) return null;
    i += delimiter.length;
  }
  return null; // more fields than a record may have: the caller counts them exactly
}

/** A record's fields as csv-parse reads them, or the reason it cannot. */
export function csvFields(d: Dialect, text: string): string[] | string {
  try {
    const records = parse(text, {
      delimiter: d.delimiter,
      quote: d.quoteChar,
      escape: d.escapeChar ?? (d.doubleQuote ? d.quoteChar : null),
      ltrim: d.skipInitialSpace,
      // As Python's csv (the Frictionless tools' reader): a quote inside an unquoted field is text.
      relax_quotes: true,
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n'],
    }) as string[][];
    if (records.length !== 1) return `quoting makes ${records.length} records of it`;
    return records[0];
  } catch (e) {
    return `cannot be read as CSV: ${(e as Error).message.replace(/ at line \d+.*$/s, '')}`;
  }
}

/** Whether a record is one to skip: blank, or a comment. */
function skipped(d: Dialect, text: string): boolean {
  return text.trim() === '' || (d.commentChar !== null && text.startsWith(d.commentChar));
}

/** One buffer per thread, read into again for each range. */
let scratch = Buffer.allocUnsafe(0);

export function readFileRange(file: string, from: number, length: number): Buffer {
  if (scratch.length < length) scratch = Buffer.allocUnsafe(Math.max(length, scratch.length * 2));
  const fd = openSync(file, 'r');
  try {
    let n = 0;
    for (let got = -1; got !== 0 && n < length; n += got)
      got = readSync(fd, scratch, n, length - n, from + n);
    return scratch.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Each table's cleaner, made once per thread: it keeps codes it has seen. */
const cleaners = new WeakMap<Table, ReturnType<typeof packingCleanerFor>>();
const cleanerOf = (table: Table) => {
  let clean = cleaners.get(table);
  if (!clean) cleaners.set(table, (clean = packingCleanerFor(table)));
  return clean;
};

/** Parses the records of `job`'s range; `maxBytes` is the record limit staging used. */
export function parseRange(table: Table, job: RangeJob, maxBytes: number): ParsedRecords {
  const d = table.dialect;
  const text = decodingFor(table.encoding);
  const clean = cleanerOf(table);
  const width = packingOf(table).loose.length;
  const packed: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  const kinds: number[] = [];
  const values: Value[] = [];
  const reasons: string[] = [];
  const raws: string[] = [];
  let nextLine = job.line;

  if (job.overlong) {
    const head = readFileRange(job.file, job.from, Math.min(RAW_BYTES, job.until - job.from));
    const bytes = job.until - job.from;
    ends.push(job.until);
    lines.push(job.line);
    kinds.push(QUARANTINE);
    reasons.push(`record of ${bytes} bytes is longer than the limit of ${maxBytes} (maxRecordBytes)`);
    raws.push(`${text.loose(head)}…`);
    let newlines = 0;
    // Its lines are counted from the file, a slice at a time: memory stays bounded.
    for (let at = job.from; at < job.until; at += 1 << 20) {
      const part = readFileRange(job.file, at, Math.min(1 << 20, job.until - at));
      for (let i = part.indexOf(10); i !== -1; i = part.indexOf(10, i + 1)) newlines++;
    }
    const last = readFileRange(job.file, job.until - 1, 1)[0];
    nextLine = job.line + newlines + (last === 10 ? 0 : 1);
  } else {
    const bytes = readFileRange(job.file, job.from, job.until - job.from);
    const decode = text.forRange(bytes);
    const scanner = new RecordScanner(
      syntaxOf(d, maxBytes),
      (r) => {
        ends.push(r.end);
        lines.push(r.line);
        nextLine = r.line + r.lines;
        const body = bytes.subarray(r.start - job.from, r.end - job.from);
        let line: string;
        try {
          line = withoutLineEnd(decode(body));
        } catch {
          kinds.push(QUARANTINE);
          reasons.push(`not valid ${text.name}`);
          raws.push(withoutLineEnd(text.loose(body)));
          return;
        }
        if (r.start === job.headerAt || skipped(d, line)) {
          kinds.push(SKIP);
          return;
        }
        const fields = splitFields(d, line);
        const outcome = typeof fields === 'string' ? fields : clean(fields, values);
        if (typeof outcome === 'number') {
          kinds.push(ROW);
          packed.push(outcome);
          return;
        }
        kinds.push(QUARANTINE);
        reasons.push(outcome);
        raws.push(line.length > RAW_BYTES ? `${line.slice(0, RAW_BYTES)}…` : line);
      },
      job.from,
      job.line,
    );
    scanner.push(bytes, job.from);
    scanner.finish(job.from + bytes.length);
    if (values.length !== packed.length * width) throw new Error('a row of the wrong width');
  }
  return {
    ends: Float64Array.from(ends),
    lines: Float64Array.from(lines),
    nextLine,
    kinds: Uint8Array.from(kinds),
    packed: Float64Array.from(packed),
    values,
    width,
    reasons,
    raws,
  };
}
