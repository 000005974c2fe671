/**
 * The parser threads' pool: a thread that fails or stops fails every job with one message
 * naming it, never a wait; and how many threads there are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Parsers, parsedRanges, parserThreads } from '../../../runner/extract/parsers.ts';

/** A parser thread that does `onJob` (JavaScript run in the thread) with each job it is sent. */
const PORT = "require('node:worker_threads').parentPort";
const thread = (onJob: string) => () =>
  new Worker(`${PORT}.on('message', (job) => { ${onJob} });`, { eval: true });
const NOTHING = [
  'records: { ends: new Float64Array(0), lines: new Float64Array(0), nextLine: 1,',
  'kinds: new Uint8Array(0), values: [], width: 15, reasons: [], raws: [] }',
].join(' ');
const JOB = { table: 0, file: 'Adult.data', from: 0, until: 1, line: 1, overlong: false, headerAt: -1 };
const SETUP = { tables: [], maxRecordBytes: 1 << 20 };
const WITHIN = { timeout: 20_000 };

test('a parser thread that exits quietly fails the load with a message, not a wait', WITHIN, async () => {
  const parsers = new Parsers(SETUP, 1, thread('process.exit(0)'));
  try {
    const source = {
      uri: 'data/Adult.data',
      path: 'Adult.data',
      table: 0,
      headerAt: -1,
      ranges: [{ from: 0, until: 1000, line: 1, overlong: false }],
    };
    await assert.rejects(parsedRanges(parsers, source, 0, 1).next(), {
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
  const parsers = new Parsers(SETUP, 3, () => started[Math.min(n++, 1)]());
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
