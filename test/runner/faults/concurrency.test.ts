/**
 * Two runs against one database at once: the second refuses, clearly, before it downloads or
 * loads anything; nothing is loaded twice. Each database stages its sources apart.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
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
