/**
 * Two runs against one database at once: the second refuses, clearly, before it downloads or
 * loads anything; nothing is loaded twice. Each database stages its sources apart.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../../runner/dataset/dataset.ts';
import { LockedError } from '../../../runner/shared/errors.ts';
import { openStore } from '../../../runner/store/store.ts';
import { finished, runArgs, runCli, startCli } from '../../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../../support/db.ts';
import { lines, records, tempDir } from '../../support/fixtures.ts';
import { mixedSources } from '../../support/generate.ts';
import { startSourceServer } from '../../support/https.ts';
import { skipUnless } from '../../support/tools.ts';
import { literal, waitForLine } from '../../support/watch.ts';

test('a second run on a database in use refuses with a clear message; the first finishes alone', async () => {
  const dir = mixedSources(40, 20, tempDir());
  const run = (db: string) =>
    runArgs({ dir, db, log: path.join(dir, `${path.basename(db)}.log`), batchSize: 10 });
  const reference = path.join(dir, 'reference.db');
  assert.equal(runCli([...run(reference), '--unthrottled']).code, 0);

  const db = path.join(dir, 'census.db');
  // The first loads one batch a second (~7 in all), so it holds the database for seconds.
  const first = startCli([...run(db), '--every', '1']);
  const firstDone = finished(first);
  assert.ok(await waitForLine(first, / batch 1\/\d+: /), 'the first run is loading');

  const seconds = [['--unthrottled'], ['--every', '1']].map((mode) =>
    finished(startCli([...run(db), ...mode])),
  );
  for (const second of await Promise.all(seconds)) {
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `census-etl: error: database ${literal(db)} is in use by another census-etl run ` +
          '\\(lock .*census\\.db\\.lock is held\\); wait for it or stop it',
      ),
    );
    assert.doesNotMatch(second.stdout, / batch \d+\/\d+: /, 'the second run loaded nothing');
  }

  const r = await firstDone;
  assert.equal(r.code, 0, r.stderr);
  assertConsistent(db);
  assert.equal(contentHash(db), contentHash(reference));
  assert.deepEqual(bookkeeping(db), bookkeeping(reference));

  // Once the first is done, the database is free: a run finds nothing left to load.
  const after = runCli([...run(db), '--unthrottled']);
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(bookkeeping(db), bookkeeping(reference));
});

const STAGED_APART = "sources are staged under the run lock, in a folder of the database's own";
test(STAGED_APART, { skip: skipUnless('openssl') }, async () => {
  const body = Buffer.from(lines(records(30)));
  const server = await startSourceServer({ 'Adult.data': { body }, 'Adult.test': { body } });
  try {
    const dir = tempDir();
    const sources = ['Adult.data', 'Adult.test'].map((f) => ({ uri: server.url(f) }));
    const run = (db: string, every: string[]) => {
      const params = path.join(dir, `${path.basename(db)}.json`);
      writeFileSync(params, JSON.stringify({ sources, database: db, log: `${db}.log`, batchSize: 5 }));
      return startCli(['run', '--params', params, ...every], server.env);
    };
    const db = path.join(dir, 'census.db');
    const first = run(db, ['--every', '1']);
    const firstDone = finished(first);
    assert.ok(await waitForLine(first, / batch 1\/\d+: /), 'the first run is loading');
    const requests = () => [...server.hits.values()].reduce((n, h) => n + h, 0);
    const hits = requests();

    // The second is refused before it downloads a byte (it would have staged over the first's files).
    const second = await finished(run(db, ['--unthrottled']));
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /is in use by another census-etl run/);
    assert.doesNotMatch(second.stdout, /downloading/);
    assert.equal(requests(), hits, 'no request from the refused run');

    // Another database in the same folder stages into its own folder, beside the first's.
    const other = await finished(run(path.join(dir, 'other.db'), ['--unthrottled']));
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await firstDone).code, 0);
    for (const name of ['census.db', 'other.db']) {
      const staged = readdirSync(path.join(dir, `${name}.sources`)).sort();
      assert.deepEqual(staged, ['0-Adult.data', '1-Adult.test'], name);
    }
  } finally {
    await server.close();
  }
});

test('a symlink to a database in use finds the same run lock', async () => {
  const dir = tempDir();
  const db = path.join(dir, 'census.db');
  const link = path.join(dir, 'alias.db');
  const adult = (await loadDataset(null)).dataset;
  const holder = await openStore(db, { dataset: adult });
  try {
    symlinkSync(db, link);
    await assert.rejects(openStore(link, { dataset: adult }), LockedError);
  } finally {
    await holder.close();
  }
  const after = await openStore(link, { dataset: adult });
  await after.close();
});

test('a source rewritten in place during a run: that batch not committed, the run fails', async () => {
  const dir = mixedSources(400, 40, tempDir());
  const db = path.join(dir, 'census.db');
  const run = runArgs({ dir, db, log: path.join(dir, 'census.log'), batchSize: 50 });
  const child = startCli([...run, '--every', '1']);
  const done = finished(child);
  assert.ok(await waitForLine(child, / batch 1\/\d+: /), 'the run is loading');
  const data = path.join(dir, 'Adult.data');
  writeFileSync(data, readFileSync(data, 'utf8').replace(/Private/g, 'Public!'));
  const r = await done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `census-etl: error: source ${literal(data)} changed on disk during the run \\(its SHA-256 was ` +
        '[0-9a-f]{64} when staged\\): nothing of this batch was committed',
    ),
  );
  assertConsistent(db);
  const loaded = bookkeeping(db).batches.length;
  assert.ok(loaded >= 1, 'the batches before the change stay');
  // Run again: the file is not the one the database recorded, and is refused.
  const again = runCli([...run, '--unthrottled']);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /was loaded from .*; the sources now are .*Use a new database/);
  assert.equal(bookkeeping(db).batches.length, loaded);
});
