/**
 * Disk full in the middle of a batch: for real, with the database on a small tmpfs (root).
 * The batch rolls back, the checkpoint stays, the message says so; with space freed, a rerun
 * finishes the load exactly as an
 * uninterrupted run would have.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runArgs, runCli } from '../../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../../support/db.ts';
import { tempDir } from '../../support/fixtures.ts';
import { mixedSources } from '../../support/generate.ts';
import { smallFilesystem } from '../../support/tmpfs.ts';
import { literal } from '../../support/watch.ts';

test(
  'disk full mid-batch: rolled back, checkpoint kept, a clear message; ' +
    'after freeing space a rerun continues',
  (t) => {
    const dir = mixedSources(1500, 500, tempDir());
    const run = (db: string) => [
      ...runArgs({ dir, db, log: path.join(dir, `${path.basename(path.dirname(db))}.log`), batchSize: 50 }),
      '--unthrottled',
    ];
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
    assert.ok(
      committed > 0 && committed < total,
      `some batches committed before the disk filled (${committed} of ${total})`,
    );
    assert.match(
      full.stderr,
      new RegExp(
        `^census-etl: error: database or disk full writing batch ${committed + 1} to .*census\\.db: ` +
          `the batch was rolled back and the checkpoint stays at batch ${committed}; ` +
          'free space and run again to resume',
        'm',
      ),
    );

    fs.resize(64 * 1024 * 1024);
    const rerun = runCli(run(db));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, new RegExp(`resuming after batch ${committed}: `));
    assert.equal(contentHash(db), contentHash(reference));
    assert.deepEqual(bookkeeping(db), bookkeeping(reference));
  },
);

test('the log fills its disk: a clear message, batches kept; after freeing space a rerun goes on', (t) => {
  const dir = mixedSources(1500, 500, tempDir());
  const run = (db: string, log: string) => [...runArgs({ dir, db, log, batchSize: 5 }), '--unthrottled'];
  const reference = path.join(dir, 'reference', 'census.db');
  assert.equal(runCli(run(reference, path.join(dir, 'reference.log'))).code, 0);

  // Room for a few dozen of the ~400 batch lines.
  const fs = smallFilesystem(t, 8 * 1024);
  if (!fs) return;
  t.after(() => fs.unmount());
  const db = path.join(dir, 'full', 'census.db');
  const log = path.join(fs.dir, 'census-etl.log');
  const full = runCli(run(db, log));
  assert.equal(full.code, 1, full.stderr);
  const kept = 'every committed batch is kept; free space and run again to resume';
  const said = `disk full writing the log ${literal(log)}: ${kept}`;
  assert.match(full.stderr, new RegExp(`^census-etl: error: ${said}$`, 'm'));
  assert.doesNotMatch(full.stderr, /ENOSPC/);
  assertConsistent(db, 'after the log filled its disk');
  const committed = bookkeeping(db).batches.length;
  const all = bookkeeping(reference).batches.length;
  assert.ok(committed > 0 && committed < all, `${committed} of ${all} batches before the disk filled`);

  fs.resize(1024 * 1024);
  const rerun = runCli(run(db, log));
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`resuming after batch ${committed}: `));
  assert.equal(contentHash(db), contentHash(reference));
  assert.deepEqual(bookkeeping(db), bookkeeping(reference));
});
