/**
 * Publishing to a real S3 server on loopback (moto_server): every run under its own prefix,
 * read back byte for byte; latest.json names only complete runs; failed runs say why.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { finished, runCli, startCli } from '../../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../../support/fixtures.ts';
import { startMoto, type Moto } from '../../../twin/moto.ts';
import { runId } from '../../../runner/publish/results.ts';
import { assertCompleteRun, latestJson, runJson, runOf } from '../../support/results.ts';
import { createBucket, type Bucket } from '../../support/s3.ts';
import { skipUnless } from '../../support/tools.ts';
import { waitForLine } from '../../support/watch.ts';

const skip = skipUnless('moto_server');

let moto: Moto;
let results: Bucket;
const bucket = 'census-results';
const get = (key: string) => results.get(key);

before(async () => {
  if (skip) return;
  moto = await startMoto();
  results = await createBucket(moto, bucket);
});
after(async () => moto?.stop());

/** A small data folder and where its run keeps database and log. */
function small(n = 10) {
  const dir = writeSources([lines(records(n)), lines(records(5, n))]);
  const db = path.join(dir, 'out', 'census.db');
  const log = path.join(dir, 'out', 'census-etl.log');
  return { dir, db, log, args: ['--data-dir', dir, '--db', db, '--log', log] };
}

/** Every object under `prefix`, as bytes. */
async function contents(prefix: string): Promise<Map<string, Buffer>> {
  return new Map(
    await Promise.all((await results.keys(prefix)).map(async (k) => [k, await get(k)] as const)),
  );
}

test(
  'a finished run publishes under its own prefix: db, log, summary, run.json, then latest.json; each as sent',
  { skip },
  async () => {
    const dir = writeSources([lines([...records(40), record(1, { age: 'old' })]), lines(records(9, 40))]);
    const db = path.join(dir, 'out', 'census.db');
    const log = path.join(dir, 'out', 'run.log');
    const args = ['--data-dir', dir, '--db', db, '--log', log, '--results', `s3://${bucket}/runs/one/`];
    const r = runCli(['run', '--unthrottled', '--batch-size', '10', ...args], moto.env);
    assert.equal(r.code, 0, r.stderr);
    const run = runOf(db);
    assert.match(run.id, /^\d{8}T\d{6}Z-local$/);
    assert.equal(run.release, 'local');
    await assertCompleteRun(results, 'runs/one/', run);
    assert.deepEqual(await results.keys('runs/one/'), [
      ...(await results.keys(`runs/one/${run.id}/`)),
      'runs/one/latest.json',
    ]);
    const latest = await latestJson(results, 'runs/one/');
    assert.deepEqual([latest.run, latest.release], [run.id, 'local']);

    const at = `runs/one/${run.id}/`;
    const summaryBytes = await get(`${at}summary.json`);
    assert.ok(
      summaryBytes.equals(readFileSync(path.join(dir, 'out', 'summary.json'))),
      'summary.json in S3 = the local one',
    );
    const summary = JSON.parse(summaryBytes.toString());
    assert.deepEqual(summary.totals, {
      lines: 50,
      linesRead: 50,
      records: 50,
      recordsRead: 50,
      loaded: 49,
      quarantined: 1,
      skipped: 0,
      percent: 100,
    });
    assert.deepEqual(summary.quarantineReasons, [{ reason: 'age: "old" is not an integer', count: 1 }]);
    // The log in S3 is the local log up to the upload; the local one goes on with the publishing lines.
    const logBytes = await get(`${at}census-etl.log`);
    assert.ok(readFileSync(log).subarray(0, logBytes.length).equals(logBytes));

    // The published database is a standalone, consistent SQLite file with every row.
    const copy = path.join(tempDir(), 'census.db');
    writeFileSync(copy, await get(`${at}census.db`));
    const d = new Database(copy, { readonly: true });
    assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(d.pragma('journal_mode', { simple: true }), 'delete');
    assert.equal(d.prepare('SELECT count(*) FROM adult').pluck().get(), 49);
    d.close();

    // Published once: a rerun finds nothing to do, and does not upload again.
    await results.put(`${at}summary.json`, 'sentinel');
    const again = runCli(['run', '--unthrottled', ...args], moto.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already published to s3://census-results/runs/one/${run.id}/`));
    assert.equal((await get(`${at}summary.json`)).toString(), 'sentinel');
  },
);

test(
  "runs to one location keep each other's objects; a failed run says why; latest.json: complete runs only",
  { skip },
  async () => {
    const prefix = 'shared/';
    const resultsUri = `s3://${bucket}/${prefix}`;
    const first = small();
    assert.equal(runCli(['run', '--unthrottled', ...first.args, '--results', resultsUri], moto.env).code, 0);
    const firstRun = runOf(first.db);
    const firstObjects = await contents(`${prefix}${firstRun.id}/`);

    // The second fails mid-load: a source shrinks under it (the loader checks it is unchanged).
    const second = small(20);
    const child = startCli(
      ['run', '--every', '1', '--batch-size', '5', ...second.args, '--results', resultsUri],
      moto.env,
    );
    const failed = finished(child);
    assert.ok(await waitForLine(child, / batch 1\/\d+: /), 'the second run is loading');
    truncateSync(path.join(second.dir, 'Adult.test'), 100);
    const r = await failed;
    assert.equal(r.code, 1, r.stderr);
    const secondRun = runOf(second.db);
    assert.notEqual(secondRun.id, firstRun.id);
    const doc = await runJson(results, prefix, secondRun.id);
    assert.equal(doc.state, 'failed');
    assert.match(doc.why ?? '', /^source .*Adult\.test changed on disk during the run \(its SHA-256 was /);
    assert.ok(
      doc.progress && doc.progress.batches >= 1 && doc.progress.percent < 100,
      JSON.stringify(doc.progress),
    );
    const failedLog = (await get(`${prefix}${secondRun.id}/census-etl.log`)).toString();
    assert.match(
      failedLog,
      /census-etl: error: source .*Adult\.test changed on disk during the run/,
      'the uploaded log ends with the error',
    );
    assert.deepEqual(
      await results.keys(`${prefix}${secondRun.id}/`),
      ['census-etl.log', 'run.json'].map((n) => `${prefix}${secondRun.id}/${n}`),
    );
    assert.equal(
      (await latestJson(results, prefix)).run,
      firstRun.id,
      'a failed run never becomes the latest',
    );

    const third = small(3);
    assert.equal(runCli(['run', '--unthrottled', ...third.args, '--results', resultsUri], moto.env).code, 0);
    const thirdRun = runOf(third.db);
    await assertCompleteRun(results, prefix, thirdRun);
    assert.equal((await latestJson(results, prefix)).run, thirdRun.id);
    assert.deepEqual(
      await contents(`${prefix}${firstRun.id}/`),
      firstObjects,
      "the first run's objects are untouched",
    );
    await assertCompleteRun(results, prefix, firstRun);

    // An older run published after a newer one never moves latest.json back to it.
    const publish = (j: typeof first) =>
      runCli(['publish', '--db', j.db, '--log', j.log, '--results', `s3://${bucket}/again/`], moto.env);
    assert.equal(publish(third).code, 0);
    const older = publish(first);
    assert.equal(older.code, 0, older.stderr);
    assert.match(older.stdout, new RegExp(`latest\\.json names a later run, ${thirdRun.id}: left as it is`));
    await assertCompleteRun(results, 'again/', firstRun);
    assert.equal((await latestJson(results, 'again/')).run, thirdRun.id);
  },
);

test(
  "a run begun in a second whose id another run holds takes a later second; the other's objects stay",
  { skip },
  async () => {
    const prefix = 'same-second/';
    // Another run's record at the ids of this second and the next 7: this run begins within them.
    const first = Math.floor(Date.now() / 1000);
    const taken = Array.from({ length: 8 }, (_, i) => runId(new Date((first + i) * 1000), 'local'));
    const foreign = (id: string) =>
      JSON.stringify({ run: id, release: 'local', state: 'complete', startedAt: '2026-01-01T00:00:00.000Z' });
    for (const id of taken) await results.put(`${prefix}${id}/run.json`, foreign(id));
    const before = await contents(prefix);

    const j = small();
    const r = runCli(['run', '--unthrottled', ...j.args, '--results', `s3://${bucket}/${prefix}`], moto.env);
    assert.equal(r.code, 0, r.stderr);
    const began = /^\S+ run (\S+) \(release local\)$/m.exec(r.stdout)![1];
    assert.ok(taken.includes(began), `began at ${began}, within the taken seconds ${taken.join(', ')}`);
    const taking = new RegExp(
      `run ${began} is another run's at s3://${bucket}/${prefix}${began}/ .*: this run`,
    );
    assert.match(r.stdout, taking);
    const run = runOf(j.db);
    assert.ok(!taken.includes(run.id), run.id);
    await assertCompleteRun(results, prefix, run);
    const after = await contents(prefix);
    for (const [key, bytes] of before) assert.deepEqual(after.get(key), bytes, `${key} untouched`);
    const others = [...after.keys()].filter((k) => !k.startsWith(`${prefix}${run.id}/`) && !before.has(k));
    assert.deepEqual(others, [`${prefix}latest.json`], 'nothing written under the ids of others');
  },
);

test(
  'a resumed run keeps its id; --run-id of another run or release is refused (exit 2)',
  { skip },
  async () => {
    const j = small(20);
    const id = '20261124T101010Z-local';
    const child = startCli(['run', '--every', '1', '--batch-size', '5', ...j.args, '--run-id', id], moto.env);
    const result = finished(child);
    assert.ok(await waitForLine(child, / batch 1\/\d+: /));
    child.kill('SIGKILL');
    await result;

    const other = runCli(['run', '--unthrottled', ...j.args, '--run-id', '20261124T111111Z-local']);
    assert.equal(other.code, 2, other.stderr);
    assert.match(
      other.stderr,
      new RegExp(
        `database .*census\\.db holds run ${id} \\(release local\\), not --run-id 20261124T111111Z-local: ` +
          'use a new --db for a new run',
      ),
    );
    const released = runCli(['run', '--unthrottled', ...j.args, '--run-id', '20261124T111111Z-abc123']);
    assert.equal(released.code, 2, released.stderr);
    assert.match(released.stderr, /--run-id 20261124T111111Z-abc123 is not a run of release local/);
    const malformed = runCli(['run', '--unthrottled', ...j.args, '--run-id', 'yesterday']);
    assert.equal(malformed.code, 2, malformed.stderr);

    const resumed = runCli(
      ['run', '--unthrottled', ...j.args, '--results', `s3://${bucket}/resumed/`],
      moto.env,
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`run ${id} \\(release local\\), resumed`));
    await assertCompleteRun(results, 'resumed/', { id, release: 'local' });
  },
);

test(
  'a complete database publishes without its sources: `run` again, or `census-etl publish --db`',
  { skip },
  async () => {
    const j = small();
    assert.equal(runCli(['run', '--unthrottled', ...j.args]).code, 0, 'loaded, nothing published');
    const run = runOf(j.db);
    for (const file of ['Adult.data', 'Adult.test']) rmSync(path.join(j.dir, file));

    const rerun = runCli(
      ['run', '--unthrottled', ...j.args, '--results', `s3://${bucket}/by-run/`],
      moto.env,
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /nothing to load, the sources are not read again/);
    await assertCompleteRun(results, 'by-run/', run);

    const published = runCli(
      ['publish', '--db', j.db, '--log', j.log, '--results', `s3://${bucket}/by-publish/`],
      moto.env,
    );
    assert.equal(published.code, 0, published.stderr);
    await assertCompleteRun(results, 'by-publish/', run);

    const nowhere = runCli(['publish', '--db', j.db]);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /publish needs a results location: --results s3:\/\/bucket\/prefix\//);
    const missing = runCli([
      'publish',
      '--db',
      path.join(j.dir, 'none.db'),
      '--results',
      `s3://${bucket}/x/`,
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no database at .*none\.db/);
  },
);

test('a database still loading is not published by `census-etl publish` (exit 2)', { skip }, async () => {
  const j = small(20);
  const child = startCli(['run', '--every', '1', '--batch-size', '5', ...j.args]);
  const result = finished(child);
  assert.ok(await waitForLine(child, / batch 1\/\d+: /));
  child.kill('SIGKILL');
  await result;
  const r = runCli(
    ['publish', '--db', j.db, '--log', j.log, '--results', `s3://${bucket}/partial/`],
    moto.env,
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /database .*census\.db is not complete: census-etl run loads the rest, then publishes/,
  );
  assert.deepEqual(await results.keys('partial/'), []);
});

test(
  'parameters can come from S3; a results location that cannot be written fails the run before it loads',
  { skip },
  async () => {
    const dir = writeSources([lines(records(3)), lines(records(2))]);
    const params = {
      sources: [{ uri: path.join(dir, 'Adult.data') }, { uri: path.join(dir, 'Adult.test') }],
      database: path.join(dir, 'c.db'),
      log: path.join(dir, 'c.log'),
      unthrottled: true,
      results: 's3://no-such-bucket/x/',
      retry: { attempts: 2, minDelaySeconds: 0.1 },
    };
    await results.put('params.json', JSON.stringify(params));
    // The S3-only endpoint setting works as well as the general one.
    const { AWS_ENDPOINT_URL, ...credentials } = moto.env;
    const r = runCli(['run', '--params', `s3://${bucket}/params.json`], {
      ...credentials,
      AWS_ENDPOINT_URL: '',
      AWS_ENDPOINT_URL_S3: AWS_ENDPOINT_URL,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        '^census-etl: error: upload of s3://no-such-bucket/x/\\d{8}T\\d{6}Z-local/run\\.json .*bucket',
        'im',
      ),
    );
    assert.match(
      readFileSync(params.log, 'utf8'),
      /census-etl: error: upload of s3:\/\/no-such-bucket\//,
      'the error is in the log file too',
    );
    const d = new Database(params.database, { readonly: true });
    assert.equal(d.prepare('SELECT count(*) FROM batches').pluck().get(), 0, 'nothing loaded');
    d.close();
  },
);
