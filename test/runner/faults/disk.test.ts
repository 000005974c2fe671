/**
 * Disk full in the middle of a batch: for real, with the database on a small tmpfs (root),
 * and everywhere through SQLite's max_page_count. The batch rolls back, the checkpoint stays,
 * the message says so; with space freed, a rerun finishes the load exactly as an uninterrupted
 * run would have.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Parsers } from '../../../runner/extract/parsers.ts';
import { stageSources, type StagedSource } from '../../../runner/extract/sources.ts';
import { Loader } from '../../../runner/load/batches.ts';
import { DEFAULTS } from '../../../runner/params.ts';
import { DEFAULT_RETRY } from '../../../runner/shared/retry.ts';
import { openStore, type Store } from '../../../runner/store/store.ts';
import { runArgs, runCli } from '../../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../../support/db.ts';
import { adult } from '../../support/dataset.ts';
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

/** Loads batches until done, as a run does; the first error ends it, as it ends a run. */
async function loadAll(store: Store, staged: readonly StagedSource[], batchSize: number) {
  const { tables } = store.dataset;
  const parsers = new Parsers({ tables, maxRecordBytes: DEFAULTS.maxRecordBytes });
  const loader = await Loader.open(store, staged, { batchSize, maxQuarantinedShare: 1, parsers });
  try {
    while (!loader.done && !(await loader.next()).done);
    return null;
  } catch (e) {
    return e as Error;
  } finally {
    await loader.close();
  }
}

/**
 * A PRAGMA on the store's own connection (max_page_count is per connection): Store.read runs
 * any statement that returns rows, and these PRAGMAs return the value they set.
 */
async function pragma(store: Store, sql: string): Promise<number> {
  const [[row]] = await store.read([sql]);
  return Number(Object.values(row)[0]);
}

test(
  'database full (max_page_count): the batch rolls back with the same message, ' + 'and a new run continues',
  async () => {
    const dir = mixedSources(600, 200, tempDir());
    const reference = path.join(dir, 'reference', 'census.db');
    const load = runArgs({ dir, db: reference, log: path.join(dir, 'log'), batchSize: 20 });
    assert.equal(runCli([...load, '--unthrottled']).code, 0);

    const dataset = await adult(dir);
    const retry = { ...DEFAULT_RETRY, attempts: 1 };
    const stage = { retry, log: () => {}, maxRecordBytes: DEFAULTS.maxRecordBytes };
    const { sources: staged } = await stageSources(dataset, path.join(dir, 'staged'), stage);
    const file = path.join(dir, 'full', 'census.db');
    const store = await openStore(file, { dataset });
    try {
      await store.registerSources(staged);
      // Room for a few batches, then SQLITE_FULL in the middle of one.
      const pages = await pragma(store, 'PRAGMA page_count');
      assert.equal(await pragma(store, `PRAGMA max_page_count = ${pages + 12}`), pages + 12);
      const error = await loadAll(store, staged, 20);
      const committed = (await store.status()).batches.count;
      assert.ok(committed > 0, 'some batches fit');
      assert.match(
        error?.message ?? 'no error',
        new RegExp(
          `^database or disk full writing batch ${committed + 1} to .*census\\.db: ` +
            `the batch was rolled back and the checkpoint stays at batch ${committed}; `,
        ),
      );
      assertConsistent(file, 'after SQLITE_FULL');

      await pragma(store, 'PRAGMA max_page_count = 1073741823');
      assert.equal(await loadAll(store, staged, 20), null);
    } finally {
      await store.close();
    }
    assert.equal(contentHash(file), contentHash(reference));
    assert.deepEqual(bookkeeping(file), bookkeeping(reference));
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
