/**
 * The parser's fast path against its authority: on generated lines with every edge the format
 * has (quotes, CR, BOM, blanks, empty fields, trailing delimiters, signs, huge integers,
 * non-ASCII, invalid UTF-8, very long lines), a line the fast path takes gets the very row
 * csv-parse and the cleaner give it, and a whole range parses exactly as csv-parse and the
 * cleaner would have parsed it line by line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { cleanRecord } from '../../runner/clean.ts';
import { COLUMNS } from '../../runner/dataset.ts';
import { Parsers, QUARANTINE, ROW, SKIP, cleanedChunks, parseFields, parseLines, parseRange, parserThreads, plainRecord } from '../../runner/lines.ts';
import { SLOTS, encodeCodes, encodeRow } from '../../runner/rows.ts';
import { record, tempDir } from '../support/fixtures.ts';

/** Pieces of a line, as bytes: what the format gives meaning to, text, and broken UTF-8. */
const piece = fc.oneof(
  fc.constantFrom(',', ', ', '"', '""', '\r', '\uFEFF', ' ', '\t', '?', '|', '.', '', '>50K.', 'Private', '39').map((s) => Buffer.from(s)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => Buffer.from(s)),
  fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x00], [0x0b], [0xa0]).map((b) => Buffer.from(b)),
);
const noNewline = (b: Buffer) => Buffer.from(b.filter((x) => x !== 0x0a));
const noise = fc.array(piece, { maxLength: 40 }).map((ps) => noNewline(Buffer.concat(ps)));
/** A field's value as the dataset writes it: a domain value (the class maybe with its dot), an integer in range, "?". */
const validValue = (c: (typeof COLUMNS)[number]) =>
  fc.oneof(
    { weight: 9, arbitrary: c.kind === 'nominal' ? fc.constantFrom(...c.domain, ...(c.name === 'class' ? c.domain.map((v) => `${v}.`) : [])) : fc.integer({ min: c.min, max: Math.min(c.max, 10 ** 7) }).map(String) },
    { weight: 1, arbitrary: fc.constant('?') },
  );
/** What a slip of the pen makes of a field: near its range, near its domain, or anything. */
const slip = (c: (typeof COLUMNS)[number]) =>
  c.kind === 'integer'
    ? fc.constantFrom(c.min - 1, c.max + 1, c.min, c.max, 10 ** 15 - 1, 10 ** 15, 2 ** 53).map(String).chain((n) => fc.constantFrom(n, `+${n}`, `-${n}`, `0${n}`, `${n}.0`, `${n}?`, ` ${n} x`))
    : fc.constantFrom(...c.domain).chain((v) => fc.constantFrom(v.toLowerCase(), `${v}.`, `${v}..`, v.slice(1), `${v}x`, `${v} ${v}`, `"${v}"`, `?${v}`, `${v}\u00a0`, `\u000b${v}`));
const anything = fc.array(piece, { maxLength: 3 }).map((ps) => noNewline(Buffer.concat(ps)).toString('latin1'));
/** Blanks the fast path trims; and others: those only the cleaner trims, and those nobody does. */
const blank = fc.constantFrom('', ' ', '  ', '\t', ' \r', '\r');
const oddBlank = fc.constantFrom('\u000b', '\f', '\u00a0', '\ufeff', '\u0000', '\u001f');
/** A change to a valid record: one field slipped, wrapped in odd blanks or replaced by anything; a field more or less. */
const change = fc.oneof(
  fc.nat(COLUMNS.length - 1).chain((at) => slip(COLUMNS[at]).map((v) => (fields: string[]) => fields.map((f, i) => (i === at ? v : f)))),
  fc.tuple(fc.nat(COLUMNS.length - 1), oddBlank, fc.boolean()).map(([at, b, before]) => (fields: string[]) => fields.map((f, i) => (i !== at ? f : before ? b + f : f + b))),
  fc.tuple(fc.nat(COLUMNS.length - 1), anything).map(([at, v]) => (fields: string[]) => fields.map((f, i) => (i === at ? v : f))),
  fc.constantFrom((fields: string[]) => [...fields, 'x'], (fields: string[]) => [...fields, ''], (fields: string[]) => fields.slice(1)),
);
/** Valid records wrapped in blanks, with no, one or two changes. */
const nearRecord = fc
  .tuple(fc.tuple(...COLUMNS.map(validValue)), fc.array(fc.tuple(blank, blank), { minLength: COLUMNS.length + 1, maxLength: COLUMNS.length + 1 }), fc.array(change, { maxLength: 2 }))
  .map(([values, pads, changes]) => {
    const padded = values.map((v, i) => `${pads[i][0]}${v}${pads[i][1]}`);
    return Buffer.from(changes.reduce((fields, f) => f(fields), padded).join(','), 'latin1');
  });
/** Long lines: a record's worth of fields repeated, or one field of up to 200 kB. */
const longLine = fc.oneof(
  fc.tuple(fc.nat(1000), fc.integer({ min: 2, max: 300 })).map(([i, n]) => Buffer.from(Array(n).fill(record(i)).join(', '))),
  fc.tuple(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom('a', 'é', ',', '"', '\r')).map(([n, ch]) => Buffer.from(ch.repeat(n))),
);
const validLine = fc.nat(1000).map((i) => Buffer.from(record(i)));
/** Valid records the fast path leaves to the authority: a signed integer, or a blank that is not ASCII's. */
const unusualRecord = fc
  .tuple(fc.nat(1000), fc.nat(COLUMNS.length - 1), fc.constantFrom((v: string) => (/^\d+$/.test(v) ? `+${v}` : v), () => '-0', (v: string) => `\u000b${v}`, (v: string) => `${v}\u00a0`, (v: string) => `\u3000${v}`))
  .map(([i, at, change]) => Buffer.from(record(i, { [COLUMNS[at].name]: change(record(i).split(', ')[at]) })));
const line = fc.oneof(
  { weight: 4, arbitrary: nearRecord },
  { weight: 3, arbitrary: noise },
  { weight: 2, arbitrary: validLine },
  { weight: 1, arbitrary: unusualRecord },
  { weight: 1, arbitrary: longLine },
);

/** What csv-parse and the cleaner make of one line: its outcome, and the encoded row if it is one. */
function authority(bytes: Buffer) {
  const outcome = cleanRecord(parseFields(Buffer.concat([bytes, Buffer.from('\n')]))[0]);
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
      assert.equal(expected.outcome.kind, 'row', `taken by the fast path, but csv-parse and the cleaner say: ${JSON.stringify(expected.outcome)}`);
      const encoded = new Float64Array(SLOTS);
      encodeCodes(codes, encoded, 0);
      assert.deepEqual(encoded, expected.encoded);
    }),
    { numRuns: 5000 },
  );
  assert.ok(taken.fast > 500 && taken.declinedOthers > 1000 && taken.declinedRows > 100, `every way was exercised: ${JSON.stringify(taken)}`);
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
      raws.push(bytes.toString('utf8', (ends[i - 1] ?? offset) - offset, ends[i] - offset).replace(/\r?\n$/, ''));
    } else {
      kinds.push(SKIP);
    }
  });
  return { ends, kinds, rowLines, values, reasons, raws };
}

test('a range parses as csv-parse and the cleaner parse it: same lines, outcomes, values, reasons and raw text', () => {
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), fc.nat(10_000), (lines, lastNewline, offset) => {
      const bytes = Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || lastNewline ? [l, Buffer.from('\n')] : [l])));
      const got = parseLines(bytes, offset);
      assert.deepEqual(
        { ends: [...got.ends], kinds: [...got.kinds], rowLines: [...got.rowLines], values: [...got.values], reasons: got.reasons, raws: got.raws },
        reference(bytes, offset),
      );
    }),
    { numRuns: 400 },
  );
});

test('byte ranges of any size split a file into its lines: each line once, in the range where it starts', () => {
  const dir = tempDir();
  // Lines short and long (past the 64 kB a range reads beyond its end), maybe a BOM, maybe no last newline.
  const fileLine = fc.oneof({ weight: 8, arbitrary: line }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 300_000 }).map((n) => Buffer.alloc(n, 'a')) });
  fc.assert(
    fc.property(fc.array(fileLine, { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 150_000 }), fc.nat(), (lines, bom, lastNewline, size, resumeAt) => {
      const body = Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || lastNewline ? [l, Buffer.from('\n')] : [l])));
      const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), body]);
      const file = path.join(dir, 'source');
      writeFileSync(file, bytes);
      const whole = parseLines(body, bytes.length - body.length);
      // Resume, as after a checkpoint, at the start of any line (or at 0).
      const starts = [0, ...whole.ends.slice(0, -1)];
      const origin = starts[resumeAt % starts.length];
      const ends: number[] = [];
      const kinds: number[] = [];
      const step = Math.max(size, Math.ceil((bytes.length - origin) / 400)); // at most 400 ranges
      for (let from = origin; from < bytes.length; from += step) {
        const part = parseRange(file, origin, from, Math.min(from + step, bytes.length));
        ends.push(...part.ends);
        kinds.push(...part.kinds);
      }
      const expected = whole.ends.findIndex((e) => e > origin);
      assert.deepEqual({ ends, kinds }, { ends: [...whole.ends.slice(expected)], kinds: [...whole.kinds.slice(expected)] });
    }),
    { numRuns: 300 },
  );
});

test('the real format takes the fast path: records of both files, CRLF ends; comments and blank lines do not', () => {
  const codes = new Float64Array(COLUMNS.length);
  const takes = (l: string) => plainRecord(Buffer.from(l), 0, Buffer.byteLength(l), codes);
  for (const l of [record(1), `${record(2).replace(/<=50K$|>50K$/, (c) => `${c}.`)}`, `${record(3)}\r`, record(4, { age: '?', workclass: '?' })]) assert.ok(takes(l), l);
  for (const l of ['|1x3 Cross validator', '', '  ', record(5, { age: 'B' }), `${record(6)},`]) assert.ok(!takes(l), l);
});

/** A parser thread that does `onJob` (JavaScript run in the thread) with each job it is sent. */
const thread = (onJob: string) => () =>
  new Worker(`require('node:worker_threads').parentPort.on('message', (job) => { ${onJob} });`, { eval: true });
const NOTHING = 'lines: { ends: new Float64Array(0), kinds: new Uint8Array(0), rowLines: new Uint32Array(0), values: new Float64Array(0), reasons: [], raws: [] }';
const JOB = { file: 'Adult.data', origin: 0, from: 0, until: 1 };

test('a parser thread that exits quietly fails the load with a message naming it, instead of a wait forever', { timeout: 20_000 }, async () => {
  const parsers = new Parsers(1, thread('process.exit(0)'));
  try {
    const source = { uri: 'data/Adult.data', path: 'Adult.data', bytes: 1000 };
    await assert.rejects(cleanedChunks(parsers, source, 0, 1).next(), {
      message: 'source data/Adult.data: cannot read: parser thread 1 of 1 stopped (exit code 0)',
    });
    await assert.rejects(parsers.parse(JOB), /parser thread 1 of 1 stopped/, 'and so does every job after it');
  } finally {
    await parsers.close();
  }
});

test('one parser thread failing among several: one clear error for every job, and the others replying late crash nothing', { timeout: 20_000 }, async () => {
  const started: (() => Worker)[] = [thread('throw new Error("out of cheese")'), thread(`setTimeout(() => require('node:worker_threads').parentPort.postMessage({ id: job.id, ${NOTHING} }), 300)`)];
  let n = 0;
  const parsers = new Parsers(3, () => started[Math.min(n++, 1)]());
  try {
    const jobs = Array.from({ length: 6 }, () => parsers.parse(JOB));
    const outcomes = await Promise.allSettled(jobs);
    const messages = new Set(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'resolved')));
    assert.deepEqual([...messages], ['parser thread 1 of 3 failed: out of cheese']);
    // The threads that were still working reply now, to jobs the pool has already failed.
    await new Promise((resolve) => setTimeout(resolve, 600));
  } finally {
    await parsers.close();
  }
});

test('parser threads: one per core beside the inserting thread, at most 4; CENSUS_PARSER_THREADS sets it', () => {
  assert.deepEqual([1, 2, 3, 5, 64].map((cores) => parserThreads({}, cores)), [1, 1, 2, 4, 4]);
  assert.equal(parserThreads({ CENSUS_PARSER_THREADS: '3' }, 2), 3);
  for (const bad of ['0', '-1', '1.5', 'two', '65']) {
    assert.throws(() => parserThreads({ CENSUS_PARSER_THREADS: bad }, 2), { message: `CENSUS_PARSER_THREADS must be a whole number from 1 to 64, not "${bad}"` });
  }
});
