/** Two runs against one database at once: the second refuses, clearly; nothing is loaded twice. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { finished, runCli, startCli } from '../support/cli.ts';
import { assertConsistent, bookkeeping, contentHash } from '../support/db.ts';
import { tempDir } from '../support/fixtures.ts';
import { mixedSources } from '../support/generate.ts';
import { literal, waitForLine } from '../support/watch.ts';

test('a second run on a database in use refuses with a clear message; the first finishes alone', async () => {
  const dir = mixedSources(40, 20, tempDir());
  const run = (db: string) => ['run', '--batch-size', '10', '--data-dir', dir, '--db', db, '--log', path.join(dir, `${path.basename(db)}.log`)];
  const reference = path.join(dir, 'reference.db');
  assert.equal(runCli([...run(reference), '--unthrottled']).code, 0);

  const db = path.join(dir, 'census.db');
  // The first loads one batch a second (~7 in all), so it holds the database for seconds.
  const first = startCli([...run(db), '--every', '1']);
  const firstDone = finished(first);
  assert.ok(await waitForLine(first, / batch 1\/\d+: /), 'the first run is loading');

  const seconds = [['--unthrottled'], ['--every', '1']].map((mode) => finished(startCli([...run(db), ...mode])));
  for (const second of await Promise.all(seconds)) {
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`census-etl: error: database ${literal(db)} is in use by another census-etl run \\(lock .*census\\.db\\.lock is held\\); wait for it or stop it`));
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
