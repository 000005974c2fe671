/**
 * The parser's fast path against its authority: on generated lines with every edge the format
 * has (quotes, CR, BOM, empty fields, trailing delimiters, non-ASCII, invalid UTF-8, very long
 * lines), a line the split takes gets exactly the fields csv-parse gives it, and a whole range
 * parses exactly as csv-parse + the cleaner would have parsed it line by line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { cleanRecord } from '../../runner/clean.ts';
import { COLUMNS } from '../../runner/dataset.ts';
import { Parsers, QUARANTINE, ROW, SKIP, cleanedChunks, fastFields, parseFields, parseLines, parserThreads } from '../../runner/lines.ts';
import { SLOTS, encodeRow } from '../../runner/rows.ts';
import { record } from '../support/fixtures.ts';

/** Pieces of a line, as bytes: what the format gives meaning to, text, and broken UTF-8. */
const piece = fc.oneof(
  fc.constantFrom(',', ', ', '"', '""', '\r', '\uFEFF', ' ', '\t', '?', '|', '.', '', '>50K.', 'Private', '39').map((s) => Buffer.from(s)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => Buffer.from(s)),
  fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x00]).map((b) => Buffer.from(b)),
);
const noNewline = (b: Buffer) => Buffer.from(b.filter((x) => x !== 0x0a));
const shortLine = fc.array(piece, { maxLength: 40 }).map((ps) => noNewline(Buffer.concat(ps)));
/** Long lines: a record's worth of fields repeated, or one field of up to 200 kB. */
const longLine = fc.oneof(
  fc.tuple(fc.nat(1000), fc.integer({ min: 2, max: 300 })).map(([i, n]) => Buffer.from(Array(n).fill(record(i)).join(', '))),
  fc.tuple(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom('a', 'é', ',', '"', '\r')).map(([n, ch]) => Buffer.from(ch.repeat(n))),
);
const validLine = fc.nat(1000).map((i) => Buffer.from(record(i)));
const line = fc.oneof({ weight: 6, arbitrary: shortLine }, { weight: 3, arbitrary: validLine }, { weight: 1, arbitrary: longLine });

test('a line the fast path takes gets exactly the fields csv-parse gives it', () => {
  let fast = 0;
  let slow = 0;
  fc.assert(
    fc.property(line, fc.boolean(), (bytes, newline) => {
      const withEnd = newline ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes;
      const csv = parseFields(withEnd);
      // csv-parse reads one record from any line, except an empty last line (no record at all).
      assert.equal(csv.length, bytes.length === 0 && !newline ? 0 : 1);
      const fields = fastFields(bytes.toString('utf8'));
      if (fields === null) {
        slow++;
        assert.ok(bytes.includes(0x22), 'only a line with a quote character goes to csv-parse');
      } else {
        fast++;
        if (csv.length) assert.deepEqual(fields, csv[0]);
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(fast > 500 && slow > 300, `both paths were exercised: ${fast} fast, ${slow} to csv-parse`);
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

test('the real format takes the fast path: a record, a test-file record, a comment and a blank line', () => {
  for (const l of [record(1), `${record(2).replace(/<=50K$|>50K$/, (c) => `${c}.`)}\r`, '|1x3 Cross validator', '']) {
    assert.deepEqual(fastFields(l), parseFields(Buffer.from(`${l}\n`))[0], l);
  }
  assert.equal(COLUMNS.length, fastFields(record(3))!.length);
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
