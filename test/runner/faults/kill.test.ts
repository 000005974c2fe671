/**
 * SIGKILL at 25 random instants of a run, restarting after each: the database is consistent
 * after every kill, and the finished tables are identical to an uninterrupted run's.
 * FAULT_SEED=<n> replays a sequence of instants (the seed is in every failure message).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { finished, runArgs, runCli, startCli } from '../../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../../support/db.ts';
import { mixedSources } from '../../support/generate.ts';
import { tempDir } from '../../support/fixtures.ts';
import { seededRandom, sleep, waitForLine } from '../../support/watch.ts';

const KILLS = 25;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);

type Mode = {
  /** Flags that pick the schedule. */
  schedule: string[];
  batchSize: number;
  /** Lines of Adult.data and Adult.test: more work than 25 short lives can finish. */
  size: [number, number];
  /** A kill lands up to this long after the moment watched for. */
  windowMs: number;
};

async function killAndResume(t: TestContext, mode: Mode, seed: number) {
  const random = seededRandom(seed);
  const dir = mixedSources(...mode.size, tempDir());
  const run = (db: string) => runArgs({ dir, db, log: path.join(dir, 'run.log'), batchSize: mode.batchSize });
  const reference = path.join(dir, 'reference.db');
  // Started, not spawned synchronously: the other mode's kills run alongside.
  const uninterrupted = await finished(startCli([...run(reference), '--unthrottled']));
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);

  const db = path.join(dir, 'killed.db');
  let kills = 0;
  while (kills < KILLS) {
    const child = startCli([...run(db), ...mode.schedule]);
    const result = finished(child);
    // Mostly while batches commit; sometimes while staging, opening and registering.
    const moment = random() < 0.2 ? /census-etl run starting/ : / batch \d+\/\d+: /;
    if (await waitForLine(child, moment)) await sleep(random() * mode.windowMs);
    child.kill('SIGKILL');
    const r = await result;
    if (r.signal !== 'SIGKILL') {
      // A fast machine: this life finished the load before its instant came. It must have
      // finished well; there is nothing left to interrupt.
      assert.equal(r.code, 0, `seed ${seed}: life ${kills + 1} ended by itself, and not well\n${r.stderr}`);
      break;
    }
    assertConsistent(db, `seed ${seed}, after kill ${++kills}`);
  }
  assert.ok(kills > 0, `seed ${seed}: the first life finished before it could be killed`);

  const committed = bookkeeping(db).batches.length;
  const all = bookkeeping(reference).batches.length;
  t.diagnostic(`${committed} of ${all} batches committed across ${kills} killed runs`);
  // The rest of the load, without waiting for ticks: batch boundaries do not depend on the schedule.
  const rerun = await finished(startCli([...run(db), '--unthrottled']));
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /resuming after batch \d+: \d+ of \d+ records already accounted for/);
  assert.equal(
    contentHash(db),
    contentHash(reference),
    `seed ${seed}: adult and quarantine differ from the uninterrupted run`,
  );
  assert.deepEqual(bookkeeping(db), bookkeeping(reference), `seed ${seed}`);
  for (const s of bookkeeping(db).sources)
    assert.equal(s.loaded + s.quarantined + s.skipped, s.lines, `${s.name}: every line accounted for`);
}

test(
  `SIGKILL at ${KILLS} random instants, restarted after each: ` +
    `same tables as an uninterrupted run (seed ${SEED})`,
  { concurrency: true },
  async (t) => {
    await Promise.all([
      // ~4,500 batches of 2, about a millisecond each: output reaches the test late, so each
      // life commits dozens of batches before its kill; 25 lives must not finish the load.
      t.test('unthrottled', (st) =>
        killAndResume(
          st,
          { schedule: ['--unthrottled'], batchSize: 2, size: [6000, 3000], windowMs: 25 },
          SEED,
        ),
      ),
      // One batch per second (~85 in all, at most ~3 per life): a kill within a second of a
      // batch lands while waiting for, during or after the next tick's commit.
      t.test('scheduled every second', (st) =>
        killAndResume(
          st,
          { schedule: ['--every', '1'], batchSize: 2, size: [110, 60], windowMs: 1000 },
          SEED + 1,
        ),
      ),
    ]);
  },
);

test(
  'SIGTERM or SIGINT (a service stop, Ctrl-C): a message, exit 143 or 130, ' +
    'and a rerun resumes to the same tables',
  async () => {
    const dir = mixedSources(40, 20, tempDir());
    const run = (db: string) => runArgs({ dir, db, log: path.join(dir, 'run.log'), batchSize: 5 });
    const reference = path.join(dir, 'reference.db');
    assert.equal(runCli([...run(reference), '--unthrottled']).code, 0);

    await Promise.all(
      (['SIGTERM', 'SIGINT'] as const).map(async (signal) => {
        const db = path.join(dir, `${signal}.db`);
        const child = startCli([...run(db), '--every', '1']);
        const result = finished(child);
        assert.ok(await waitForLine(child, / batch 2\/\d+: /), `${signal}: loading`);
        child.kill(signal);
        const r = await result;
        assert.equal(r.code, signal === 'SIGTERM' ? 143 : 130, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`census-etl: stopped by ${signal}; every committed batch is kept, run again to resume`),
        );
        assertConsistent(db, signal);
        const rerun = await finished(startCli([...run(db), '--unthrottled']));
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.equal(contentHash(db), contentHash(reference), signal);
        assert.deepEqual(bookkeeping(db), bookkeeping(reference), signal);
      }),
    );
  },
);
