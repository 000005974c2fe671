import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cronExpression, runScheduled } from '../../../runner/load/schedule.ts';
import { runCli } from '../../support/cli.ts';
import { lines, records, writeSources } from '../../support/fixtures.ts';

test('--every 1 on a small file: a batch per tick, each saying how late it began, then the run stops', () => {
  const dir = writeSources([lines(records(7)), lines(records(3, 7))]);
  const db = path.join(dir, 'census.db');
  const log = path.join(dir, 'log');
  const r = runCli(['run', '--every', '1', '--batch-size', '2', '--data-dir', dir, '--db', db, '--log', log]);
  assert.equal(r.code, 0, r.stderr);
  const d = new Database(db, { readonly: true });
  const committed = d.prepare('SELECT committed_at FROM batches ORDER BY batch').pluck().all() as string[];
  d.close();
  assert.equal(committed.length, 5);
  assert.deepEqual([...committed].sort(), committed, 'committed in order');
  const ticks = r.stdout.split('\n').filter((l) => / batch \d+\/5: .* \| tick \+\d+ ms$/.test(l));
  assert.equal(ticks.length, 5, r.stdout);
});

test('one batch per wall-clock tick: each at a whole second of its own, never two at once', async () => {
  // A loaded machine may start a tick late, and node-cron then skips the ticks it missed:
  // what must hold is that no tick runs twice and no batch starts off a tick.
  const ticks: { scheduledAt: Date; startedAt: Date }[] = [];
  let running = 0;
  let most = 0;
  await runScheduled(
    1,
    async ({ scheduledAt, startedAt }) => {
      most = Math.max(most, ++running);
      ticks.push({ scheduledAt: scheduledAt!, startedAt });
      await new Promise((r) => setTimeout(r, 50));
      running--;
      return ticks.length === 5;
    },
    () => {},
  );
  assert.equal(most, 1);
  const at = ticks.map((t) => t.scheduledAt.getTime());
  assert.ok(
    at.every((ms) => ms % 1000 === 0),
    `on whole seconds: ${at}`,
  );
  for (let i = 1; i < at.length; i++) assert.ok(at[i] > at[i - 1], `each tick once, in order: ${at}`);
  for (const t of ticks) assert.ok(t.startedAt >= t.scheduledAt, 'never before its tick');
});

test('a tick that finds the previous batch still running is skipped, never run alongside it', async () => {
  let running = 0;
  let most = 0;
  let calls = 0;
  const started: number[] = [];
  await runScheduled(
    1,
    async () => {
      running++;
      most = Math.max(most, running);
      started.push(Date.now());
      await new Promise((r) => setTimeout(r, 1500)); // longer than the interval
      running--;
      return ++calls === 3;
    },
    () => {},
  );
  assert.equal(most, 1);
  assert.equal(calls, 3);
  // With 1.5 s batches on a 1 s schedule, every other tick is skipped: starts ~2 s apart.
  for (let i = 1; i < started.length; i++) assert.ok(started[i] - started[i - 1] >= 1500, `${started}`);
});

test('a failing batch stops the schedule and reports the error', async () => {
  await assert.rejects(
    runScheduled(
      1,
      async () => {
        throw new Error('disk on fire');
      },
      () => {},
    ),
    /disk on fire/,
  );
});

test('the cron expression ticks at fixed seconds of each minute', () => {
  assert.equal(cronExpression(10), '*/10 * * * * *');
  assert.equal(cronExpression(60), '0 * * * * *');
});
