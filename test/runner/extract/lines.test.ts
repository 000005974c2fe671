/**
 * The parser's fast path against its authority: on generated lines with every edge the format
 * has (quotes, CR, BOM, blanks, empty fields, trailing delimiters, signs, huge integers,
 * non-ASCII, invalid UTF-8, very long lines), a line the fast path takes gets the very row
 * csv-parse and the cleaner give it, and a whole range parses exactly as csv-parse and the
 * cleaner would have parsed it line by line. Then byte ranges, and the parser threads' pool.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { cleanRecord } from '../../../runner/extract/clean.ts';
import { COLUMNS } from '../../../runner/dataset/adult.ts';
import {
  QUARANTINE,
  ROW,
  SKIP,
  parseFields,
  parseLines,
  parseRange,
  plainRecord,
} from '../../../runner/extract/lines.ts';
import { Parsers, cleanedChunks, parserThreads } from '../../../runner/extract/parsers.ts';
import { SLOTS, encodeCodes, encodeRow } from '../../../runner/shared/rows.ts';
import { record, tempDir } from '../../support/fixtures.ts';

type Column = (typeof COLUMNS)[number];
const NEWLINE = Buffer.from('\n');

/** Pieces of a line, as bytes: what the format gives meaning to, text, and broken UTF-8. */
const piece = fc.oneof(
  fc
    .constantFrom(',', ', ', '"', '""', '\r', '\uFEFF', ' ', '\t', '?', '|', '.', '')
    .map((s) => Buffer.from(s)),
  fc.constantFrom('>50K.', 'Private', '39').map((s) => Buffer.from(s)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => Buffer.from(s)),
  fc
    .constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf])
    .map((b) => Buffer.from(b)),
  fc.constantFrom([0x00], [0x0b], [0xa0]).map((b) => Buffer.from(b)),
);
const noNewline = (b: Buffer) => Buffer.from(b.filter((x) => x !== 0x0a));
const noise = fc.array(piece, { maxLength: 40 }).map((ps) => noNewline(Buffer.concat(ps)));
const anything = fc
  .array(piece, { maxLength: 3 })
  .map((ps) => noNewline(Buffer.concat(ps)).toString('latin1'));

/** A field's value as the dataset writes it: a domain value (class: maybe with its dot), an integer, "?". */
const validValue = (c: Column) => {
  const written =
    c.kind === 'nominal'
      ? fc.constantFrom(...c.domain, ...(c.name === 'class' ? c.domain.map((v) => `${v}.`) : []))
      : fc.integer({ min: c.min, max: Math.min(c.max, 10 ** 7) }).map(String);
  return fc.oneof({ weight: 9, arbitrary: written }, { weight: 1, arbitrary: fc.constant('?') });
};
/** What a slip of the pen makes of a field: near its range, near its domain. */
const slip = (c: Column) =>
  c.kind === 'integer'
    ? fc
        .constantFrom(c.min - 1, c.max + 1, c.min, c.max, 10 ** 15 - 1, 10 ** 15, 2 ** 53)
        .map(String)
        .chain((n) => fc.constantFrom(n, `+${n}`, `-${n}`, `0${n}`, `${n}.0`, `${n}?`, ` ${n} x`))
    : fc
        .constantFrom(...c.domain)
        .chain((v) => fc.constantFrom(v.toLowerCase(), `${v}.`, `${v}..`, v.slice(1), `${v}x`, `${v} ${v}`))
        .chain((v) => fc.constantFrom(v, `"${v}"`, `?${v}`));
/** Blanks the fast path trims; and others: those only the cleaner trims, and those nobody does. */
const blank = fc.constantFrom('', ' ', '  ', '\t', ' \r', '\r');
const oddBlank = fc.constantFrom('\u000b', '\f', '\u00a0', '\ufeff', '\u0000', '\u001f');

type Change = (fields: string[]) => string[];
const replace =
  (at: number, to: (f: string) => string): Change =>
  (fields) =>
    fields.map((f, i) => (i === at ? to(f) : f));
const field = fc.nat(COLUMNS.length - 1);
/** A change to a valid record: a field slipped, in odd blanks, or anything; a field more or less. */
const change = fc.oneof(
  field.chain((at) => slip(COLUMNS[at]).map((v) => replace(at, () => v))),
  fc
    .tuple(field, oddBlank, fc.boolean())
    .map(([at, b, first]) => replace(at, (f) => (first ? b + f : f + b))),
  fc.tuple(field, anything).map(([at, v]) => replace(at, () => v)),
  fc.constantFrom<Change>(
    (fields) => [...fields, 'x'],
    (fields) => [...fields, ''],
    (fields) => fields.slice(1),
  ),
);
/** Valid records wrapped in blanks, with no, one or two changes. */
const width = { minLength: COLUMNS.length + 1, maxLength: COLUMNS.length + 1 };
const pads = fc.array(fc.tuple(blank, blank), width);
const nearRecord = fc
  .tuple(fc.tuple(...COLUMNS.map(validValue)), pads, fc.array(change, { maxLength: 2 }))
  .map(([values, padding, changes]) => {
    const padded = values.map((v, i) => `${padding[i][0]}${v}${padding[i][1]}`);
    return Buffer.from(changes.reduce((fields, f) => f(fields), padded).join(','), 'latin1');
  });
/** Long lines: a record's worth of fields repeated, or one field of up to 200 kB. */
const longLine = fc.oneof(
  fc
    .tuple(fc.nat(1000), fc.integer({ min: 2, max: 300 }))
    .map(([i, n]) => Buffer.from(Array(n).fill(record(i)).join(', '))),
  fc
    .tuple(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom('a', 'é', ',', '"', '\r'))
    .map(([n, ch]) => Buffer.from(ch.repeat(n))),
);
const validLine = fc.nat(1000).map((i) => Buffer.from(record(i)));
/** Valid records the fast path leaves to the authority: a signed integer, or a blank that is not ASCII's. */
const unusual = fc.constantFrom(
  (v: string) => (/^\d+$/.test(v) ? `+${v}` : v),
  () => '-0',
  (v: string) => `\u000b${v}`,
  (v: string) => `${v}\u00a0`,
  (v: string) => `\u3000${v}`,
);
const unusualRecord = fc
  .tuple(fc.nat(1000), field, unusual)
  .map(([i, at, to]) => Buffer.from(record(i, { [COLUMNS[at].name]: to(record(i).split(', ')[at]) })));
const line = fc.oneof(
  { weight: 4, arbitrary: nearRecord },
  { weight: 3, arbitrary: noise },
  { weight: 2, arbitrary: validLine },
  { weight: 1, arbitrary: unusualRecord },
  { weight: 1, arbitrary: longLine },
);
/** Lines joined by newlines, with or without one after the last. */
const joined = (lines: Buffer[], lastNewline: boolean) =>
  Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || lastNewline ? [l, NEWLINE] : [l])));

/** What csv-parse and the cleaner make of one line: its outcome, and the encoded row if it is one. */
function authority(bytes: Buffer) {
  const outcome = cleanRecord(parseFields(Buffer.concat([bytes, NEWLINE]))[0]);
  if (outcome.kind !== 'row') return { outcome };
  const encoded = new Float64Array(SLOTS);
  encodeRow(outcome.values, encoded, 0);
  return { outcome, encoded };
}

test('a line the fast path takes gets the very row csv-parse and the cleaner give it', () => {
  const taken = { fast: 0, declinedRows: 0, declinedOthers: 0 };
  const codes = new Float64Array(COLUMNS.length);
  fc.assert(
    fc.property(line, (bytes) => {
      const expected = authority(bytes);
      if (!plainRecord(bytes, 0, bytes.length, codes)) {
        taken[expected.outcome.kind === 'row' ? 'declinedRows' : 'declinedOthers']++;
        return;
      }
      taken.fast++;
      const said = JSON.stringify(expected.outcome);
      assert.equal(expected.outcome.kind, 'row', `taken by the fast path, but the authority says: ${said}`);
      const encoded = new Float64Array(SLOTS);
      encodeCodes(codes, encoded, 0);
      assert.deepEqual(encoded, expected.encoded);
    }),
    { numRuns: 5000 },
  );
  const exercised = taken.fast > 500 && taken.declinedOthers > 1000 && taken.declinedRows > 100;
  assert.ok(exercised, `every way was exercised: ${JSON.stringify(taken)}`);
});

/** What parseLines must return: csv-parse on the whole range, then the cleaner, line by line. */
function reference(bytes: Buffer, offset: number) {
  const ends: number[] = [];
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) ends.push(offset + i + 1);
  if (bytes.length && bytes.at(-1) !== 0x0a) ends.push(offset + bytes.length);
  const kinds: number[] = [];
  const rowLines: number[] = [];
  const values: number[] = [];
  const reasons: string[] = [];
  const raws: string[] = [];
  parseFields(bytes).forEach((fields, i) => {
    const outcome = cleanRecord(fields);
    if (outcome.kind === 'row') {
      rowLines.push(i);
      kinds.push(ROW);
      const encoded = new Float64Array(SLOTS);
      encodeRow(outcome.values, encoded, 0);
      values.push(...encoded);
    } else if (outcome.kind === 'quarantine') {
      kinds.push(QUARANTINE);
      reasons.push(outcome.reason);
      const raw = bytes.toString('utf8', (ends[i - 1] ?? offset) - offset, ends[i] - offset);
      raws.push(raw.replace(/\r?\n$/, ''));
    } else {
      kinds.push(SKIP);
    }
  });
  return { ends, kinds, rowLines, values, reasons, raws };
}

test('a range parses as csv-parse and the cleaner would: same lines, outcomes, values, reasons, raws', () => {
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), fc.nat(10_000), (lines, last, offset) => {
      const bytes = joined(lines, last);
      const got = parseLines(bytes, offset);
      const { ends, kinds, rowLines, values, reasons, raws } = got;
      assert.deepEqual(
        { ends: [...ends], kinds: [...kinds], rowLines: [...rowLines], values: [...values], reasons, raws },
        reference(bytes, offset),
      );
    }),
    { numRuns: 400 },
  );
});

test('byte ranges of any size split a file into its lines: each line once, in the range it starts in', () => {
  const dir = tempDir();
  // Lines short and long (past the 64 kB a range reads beyond its end), maybe a BOM, maybe no last newline.
  const long = fc.integer({ min: 60_000, max: 300_000 }).map((n) => Buffer.alloc(n, 'a'));
  const fileLine = fc.oneof({ weight: 8, arbitrary: line }, { weight: 1, arbitrary: long });
  const file = path.join(dir, 'source');
  const files = fc.tuple(fc.array(fileLine, { maxLength: 12 }), fc.boolean(), fc.boolean());
  const sizes = fc.integer({ min: 1, max: 150_000 });
  fc.assert(
    fc.property(files, sizes, fc.nat(), ([lines, bom, last], size, resume) => {
      const body = joined(lines, last);
      const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), body]);
      writeFileSync(file, bytes);
      const whole = parseLines(body, bytes.length - body.length);
      // Resume, as after a checkpoint, at the start of any line (or at 0).
      const starts = [0, ...whole.ends.slice(0, -1)];
      const origin = starts[resume % starts.length];
      const ends: number[] = [];
      const kinds: number[] = [];
      const step = Math.max(size, Math.ceil((bytes.length - origin) / 400)); // at most 400 ranges
      for (let from = origin; from < bytes.length; from += step) {
        const part = parseRange(file, origin, from, Math.min(from + step, bytes.length));
        ends.push(...part.ends);
        kinds.push(...part.kinds);
      }
      const first = whole.ends.findIndex((e) => e > origin);
      const expected = { ends: [...whole.ends.slice(first)], kinds: [...whole.kinds.slice(first)] };
      assert.deepEqual({ ends, kinds }, expected);
    }),
    { numRuns: 300 },
  );
});

test('the real format takes the fast path: records of both files, CRLF; comments, blank lines do not', () => {
  const codes = new Float64Array(COLUMNS.length);
  const takes = (l: string) => plainRecord(Buffer.from(l), 0, Buffer.byteLength(l), codes);
  const testFileRecord = record(2).replace(/<=50K$|>50K$/, (c) => `${c}.`);
  for (const l of [record(1), testFileRecord, `${record(3)}\r`, record(4, { age: '?', workclass: '?' })]) {
    assert.ok(takes(l), l);
  }
  for (const l of ['|1x3 Cross validator', '', '  ', record(5, { age: 'B' }), `${record(6)},`]) {
    assert.ok(!takes(l), l);
  }
});

/** A parser thread that does `onJob` (JavaScript run in the thread) with each job it is sent. */
const PORT = "require('node:worker_threads').parentPort";
const thread = (onJob: string) => () =>
  new Worker(`${PORT}.on('message', (job) => { ${onJob} });`, { eval: true });
const NOTHING = [
  'lines: { ends: new Float64Array(0), kinds: new Uint8Array(0), rowLines: new Uint32Array(0),',
  'values: new Float64Array(0), reasons: [], raws: [] }',
].join(' ');
const JOB = { file: 'Adult.data', origin: 0, from: 0, until: 1 };

const WITHIN = { timeout: 20_000 };

test('a parser thread that exits quietly fails the load with a message, not a wait', WITHIN, async () => {
  const parsers = new Parsers(1, thread('process.exit(0)'));
  try {
    const source = { uri: 'data/Adult.data', path: 'Adult.data', bytes: 1000 };
    await assert.rejects(cleanedChunks(parsers, source, 0, 1).next(), {
      message: 'source data/Adult.data: cannot read: parser thread 1 of 1 stopped (exit code 0)',
    });
    await assert.rejects(parsers.parse(JOB), /parser thread 1 of 1 stopped/, 'and every job after it');
  } finally {
    await parsers.close();
  }
});

test('one of 3 parser threads failing: one error for all jobs, late replies ignored', WITHIN, async () => {
  const late = `setTimeout(() => ${PORT}.postMessage({ id: job.id, ${NOTHING} }), 300)`;
  const started: (() => Worker)[] = [thread('throw new Error("out of cheese")'), thread(late)];
  let n = 0;
  const parsers = new Parsers(3, () => started[Math.min(n++, 1)]());
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => parsers.parse(JOB)));
    const said = (o: PromiseSettledResult<unknown>) =>
      o.status === 'rejected' ? (o.reason as Error).message : 'resolved';
    const messages = new Set(outcomes.map(said));
    assert.deepEqual([...messages], ['parser thread 1 of 3 failed: out of cheese']);
    // The threads that were still working reply now, to jobs the pool has already failed.
    await new Promise((resolve) => setTimeout(resolve, 600));
  } finally {
    await parsers.close();
  }
});

test('parser threads: one a core beside the inserting one, at most 4; CENSUS_PARSER_THREADS sets it', () => {
  assert.deepEqual(
    [1, 2, 3, 5, 64].map((cores) => parserThreads({}, cores)),
    [1, 1, 2, 4, 4],
  );
  assert.equal(parserThreads({ CENSUS_PARSER_THREADS: '3' }, 2), 3);
  for (const bad of ['0', '-1', '1.5', 'two', '65']) {
    const message = `CENSUS_PARSER_THREADS must be a whole number from 1 to 64, not "${bad}"`;
    assert.throws(() => parserThreads({ CENSUS_PARSER_THREADS: bad }, 2), { message });
  }
});
