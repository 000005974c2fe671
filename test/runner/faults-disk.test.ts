/**
 * Disk full in the middle of a batch, for real: the database lives on a small tmpfs. The
 * batch rolls back, the checkpoint stays, the message says so; with space freed, a rerun
 * finishes the load exactly as an uninterrupted run would have.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../support/db.ts';
import { tempDir } from '../support/fixtures.ts';
import { mixedSources } from '../support/generate.ts';
import { smallFilesystem } from '../support/tmpfs.ts';

test('disk full mid-batch: rolled back, checkpoint kept, a clear message; after freeing space a rerun continues', (t) => {
  const dir = mixedSources(1500, 500, tempDir());
  const run = (db: string) => ['run', '--unthrottled', '--batch-size', '50', '--data-dir', dir, '--db', db, '--log', path.join(dir, `${path.basename(path.dirname(db))}.log`)];
  const reference = path.join(dir, 'reference', 'census.db');
  assert.equal(runCli(run(reference)).code, 0);

  const fs = smallFilesystem(t, 256 * 1024);
  if (!fs) return;
  t.after(() => fs.unmount());
  const db = path.join(fs.dir, 'census.db');
  const full = runCli(run(db));
  assert.equal(full.code, 1, full.stderr);
  assertConsistent(db, 'after disk full');
  const committed = bookkeeping(db).batches.length;
  const total = bookkeeping(reference).batches.length;
  assert.ok(committed > 0 && committed < total, `some batches committed before the disk filled (${committed} of ${total})`);
  assert.match(
    full.stderr,
    new RegExp(`^census-etl: error: database or disk full writing batch ${committed + 1} to .*census\\.db: the batch was rolled back and the checkpoint stays at batch ${committed}; free space and run again to resume`, 'm'),
  );

  fs.resize(64 * 1024 * 1024);
  const rerun = runCli(run(db));
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`resuming after batch ${committed}: `));
  assert.equal(contentHash(db), contentHash(reference));
  assert.deepEqual(bookkeeping(db), bookkeeping(reference));
});
