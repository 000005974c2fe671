/**
 * Lines of a source file: a byte range read, split into lines, each parsed and cleaned (the
 * fast path below, else csv-parse and the cleaner). Parser threads (parsers.ts) run it; a range
 * holds no state and comes back as typed arrays that cross threads without a copy.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { cleanRecord } from './clean.ts';
import { COLUMNS, FORMAT } from '../dataset/adult.ts';
import { SLOTS, encodeCodes, encodeRow } from '../shared/rows.ts';

export const ROW = 0;
export const QUARANTINE = 1;
export const SKIP = 2;

/** The lines that start inside a byte range, each cleaned. Every part crosses threads without a copy. */
export type ParsedLines = {
  /** Offset just past each line (its "\n" included). */
  ends: Float64Array;
  /** ROW, QUARANTINE or SKIP, per line. */
  kinds: Uint8Array;
  /** Per ROW line, in order: its index in the range, and its SLOTS numbers (rows.ts). */
  rowLines: Uint32Array;
  values: Float64Array;
  /** Reason and raw text per QUARANTINE line, in order. */
  reasons: string[];
  raws: string[];
};

const NEWLINE = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const STEP = 1 << 16;

// quote: false — the files never quote, and a stray `"` must be a bad field, not a parse
// error that stops the load; relax_column_count — a wrong field count is the cleaner's call.
const CSV_OPTIONS = {
  delimiter: FORMAT.delimiter,
  quote: false,
  relax_column_count: true,
  record_delimiter: '\n',
} as const;

/** Splits lines into fields as csv-parse does with the loader's options (one record per line). */
export const parseFields = (bytes: Buffer): string[][] => parse(bytes, CSV_OPTIONS) as string[][];

/**
 * The fast path. csv-parse and the cleaner are the authority on what a line is (300,000 lines
 * a second here); but nearly every line of the files is a plain valid record, and this reads
 * one straight from its bytes into its codes (rows.ts: `encodeCodes`), 1.6 million a second:
 * 15 fields split at the delimiter, each, less the blanks around it (space, tab, CR), exactly
 * "?", an integer of digits within its column's range, or a value of the column's domain (the
 * class's trailing dot dropped). Such a line holds no byte a CSV parser could read otherwise
 * than a split (no quote, nothing outside ASCII). Anything else, it declines, and csv-parse and
 * the cleaner decide: a quarantined or skipped line never comes from here. lines.test.ts proves
 * on generated lines that a line it takes gets the very row they would give it.
 */
const COMMA = FORMAT.delimiter.charCodeAt(0);
const MISSING = FORMAT.missing.charCodeAt(0);
const [SPACE, TAB, CR, DOT, DIGIT_0, DIGIT_9] = [0x20, 0x09, 0x0d, 0x2e, 0x30, 0x39];
const isBlank = (b: number) => b === SPACE || b === TAB || b === CR;

const hashOf = (bytes: Uint8Array, from: number, to: number) => {
  let h = 0;
  for (let i = from; i < to; i++) h = (Math.imul(h, 31) + bytes[i]) | 0;
  return h;
};
/** Per nominal column: its values' bytes, and each value's index by the hash of its bytes. */
const KNOWN = COLUMNS.map((c) => {
  if (c.kind !== 'nominal') return null;
  const bytes = c.domain.map((v) => Buffer.from(v));
  const byHash = new Map(bytes.map((b, i) => [hashOf(b, 0, b.length), i]));
  if (byHash.size !== bytes.length) throw new Error(`${c.name}: two values share a hash; change hashOf`);
  return { bytes, byHash };
});
const TRAILING_DOT = COLUMNS.map((c) => FORMAT.trailingDot.has(c.name));

/** Reads the plain valid record in bytes [start, end) (no line end) into `codes`; false: not one. */
export function plainRecord(bytes: Uint8Array, start: number, end: number, codes: Float64Array): boolean {
  let at = start;
  for (let c = 0; c < COLUMNS.length; c++) {
    if (c > 0) {
      if (at === end) return false; // fewer fields
      at++; // the delimiter
    }
    let from = at;
    while (at < end && bytes[at] !== COMMA) at++;
    let to = at;
    while (from < to && isBlank(bytes[from])) from++;
    while (to > from && isBlank(bytes[to - 1])) to--;
    if (to - from === 1 && bytes[from] === MISSING) {
      codes[c] = NaN;
      continue;
    }
    const column = COLUMNS[c];
    if (column.kind === 'integer') {
      if (to === from) return false;
      // Exact up to 2^53; past it the sum rounds, but stays past every column's max.
      let n = 0;
      for (let i = from; i < to; i++) {
        const b = bytes[i];
        if (b < DIGIT_0 || b > DIGIT_9) return false;
        n = n * 10 + (b - DIGIT_0);
      }
      if (n < column.min || n > column.max) return false;
      codes[c] = n;
      continue;
    }
    if (TRAILING_DOT[c] && to > from && bytes[to - 1] === DOT) to--;
    const known = KNOWN[c]!;
    const index = known.byHash.get(hashOf(bytes, from, to));
    if (index === undefined) return false;
    const value = known.bytes[index];
    if (value.length !== to - from) return false;
    for (let i = 0; i < value.length; i++) if (value[i] !== bytes[from + i]) return false;
    codes[c] = index;
  }
  return at === end; // more fields: not a record of the dataset
}

/**
 * One buffer per thread, read into again for each range: a new one per range made the parser
 * thread's garbage (outside its JS heap) the largest thing in the loader's RSS.
 */
let scratch = Buffer.allocUnsafe(0);

/** Reads [at, at + length) of the file (less past its end) into `scratch` from `into`; its bytes so far. */
function readInto(fd: number, at: number, length: number, into = 0): Buffer {
  if (scratch.length < into + length) {
    const grown = Buffer.allocUnsafe(Math.max(into + length, scratch.length * 2));
    scratch.copy(grown, 0, 0, into);
    scratch = grown;
  }
  let n = 0;
  for (let got = -1; got !== 0 && n < length; n += got) {
    got = readSync(fd, scratch, into + n, length - n, at + n);
  }
  return scratch.subarray(0, into + n);
}

/**
 * Parses the lines of `file` that start in [from, until). `origin` is a known line start
 * (0 or a checkpoint) at or before `from`; any other `from` is moved to the next line start.
 */
export function parseRange(file: string, origin: number, from: number, until: number): ParsedLines {
  const fd = openSync(file, 'r');
  try {
    // From the byte before `from` (is `from` a line start?) to a little past `until`, where the
    // line holding byte `until - 1` most likely ends.
    const before = from > origin ? 1 : 0;
    const base = from - before;
    let bytes = readInto(fd, base, until - base + STEP);
    let start = before;
    if (before && bytes[0] !== NEWLINE) {
      // Mid-line: that line belongs to the range before; ours start after its end, if before `until`.
      const nl = bytes.indexOf(NEWLINE, start);
      if (nl === -1 || nl + 1 >= until - base) return parseLines(Buffer.alloc(0), until);
      start = nl + 1;
    } else if (from === 0 && bytes.subarray(0, 3).equals(BOM)) {
      start = 3; // the first line starts at 0, with the byte order mark
    }
    let end = bytes.indexOf(NEWLINE, until - base - 1);
    while (end === -1) {
      // A line longer than STEP: read on to its end, or the file's.
      const was = bytes.length;
      bytes = readInto(fd, base + was, STEP, was);
      if (bytes.length === was) break;
      end = bytes.indexOf(NEWLINE, was);
    }
    return parseLines(bytes.subarray(start, end === -1 ? bytes.length : end + 1), base + start);
  } finally {
    closeSync(fd);
  }
}

function csvRecord(line: Buffer): string[] {
  const records = parseFields(line);
  if (records.length !== 1) throw new Error(`csv-parse found ${records.length} records in one line`);
  return records[0];
}

/** Parses and cleans whole lines whose first byte is at file offset `offset`. */
export function parseLines(bytes: Buffer, offset: number): ParsedLines {
  const ends: number[] = [];
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) ends.push(offset + i + 1);
  if (bytes.length && bytes[bytes.length - 1] !== NEWLINE) ends.push(offset + bytes.length);
  const n = ends.length;
  const kinds = new Uint8Array(n);
  const rowLines = new Uint32Array(n);
  const values = new Float64Array(n * SLOTS);
  const codes = new Float64Array(COLUMNS.length);
  let rows = 0;
  const reasons: string[] = [];
  const raws: string[] = [];
  for (let i = 0, start = 0; i < n; start = ends[i++] - offset) {
    const end = ends[i] - offset;
    const newline = bytes[end - 1] === NEWLINE;
    if (plainRecord(bytes, start, newline ? end - 1 : end, codes)) {
      kinds[i] = ROW;
      encodeCodes(codes, values, rows * SLOTS);
      rowLines[rows++] = i;
      continue;
    }
    const outcome = cleanRecord(csvRecord(bytes.subarray(start, end)));
    if (outcome.kind === 'row') {
      kinds[i] = ROW;
      encodeRow(outcome.values, values, rows * SLOTS);
      rowLines[rows++] = i;
    } else if (outcome.kind === 'quarantine') {
      kinds[i] = QUARANTINE;
      // The line as it was, less its line end ("\n" or "\r\n").
      const line = bytes.toString('utf8', start, newline ? end - 1 : end);
      raws.push(newline ? line.replace(/\r$/, '') : line);
      reasons.push(outcome.reason);
    } else {
      kinds[i] = SKIP;
    }
  }
  return {
    ends: Float64Array.from(ends),
    kinds,
    rowLines: rowLines.subarray(0, rows),
    values: values.subarray(0, rows * SLOTS),
    reasons,
    raws,
  };
}
