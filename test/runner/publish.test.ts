/** Publishing to a real S3 server on loopback (moto_server), read back byte for byte. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../support/fixtures.ts';
import { startMoto, type Moto } from '../../infra/moto.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';

const skip = skipUnless('moto_server');

let moto: Moto;
let results: Bucket;
const bucket = 'census-results';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const get = (key: string) => results.get(key);

before(async () => {
  if (skip) return;
  moto = await startMoto();
  results = await createBucket(moto, bucket);
});
after(async () => moto?.stop());

test('a finished run publishes db snapshot, log and summary; each object equals what was sent', { skip }, async () => {
  const dir = writeSources([lines([...records(40), record(1, { age: 'old' })]), lines(records(9, 40))]);
  const db = path.join(dir, 'out', 'census.db');
  const log = path.join(dir, 'out', 'run.log');
  const r = runCli(['run', '--unthrottled', '--batch-size', '10', '--data-dir', dir, '--db', db, '--log', log, '--results', `s3://${bucket}/runs/one/`], moto.env);
  assert.equal(r.code, 0, r.stderr);

  assert.deepEqual(await results.keys('runs/one/'), ['runs/one/census-etl.log', 'runs/one/census.db', 'runs/one/summary.json']);

  const summaryBytes = await get('runs/one/summary.json');
  assert.ok(summaryBytes.equals(readFileSync(path.join(dir, 'out', 'summary.json'))), 'summary.json in S3 = the local one');
  const summary = JSON.parse(summaryBytes.toString());
  const dbBytes = await get('runs/one/census.db');
  const logBytes = await get('runs/one/census-etl.log');
  assert.deepEqual(summary.objects['census.db'], { bytes: dbBytes.length, sha256: sha(dbBytes) });
  assert.deepEqual(summary.objects['census-etl.log'], { bytes: logBytes.length, sha256: sha(logBytes) });
  // The log in S3 is the local log up to the upload; the local one goes on with the publishing lines.
  assert.ok(readFileSync(log).subarray(0, logBytes.length).equals(logBytes));
  assert.deepEqual(summary.totals, { lines: 50, linesRead: 50, loaded: 49, quarantined: 1, skipped: 0, percent: 100 });
  assert.deepEqual(summary.quarantineReasons, [{ reason: 'age: "old" is not an integer', count: 1 }]);

  // The published database is a standalone, consistent SQLite file with every row.
  const copy = path.join(tempDir(), 'census.db');
  writeFileSync(copy, dbBytes);
  const d = new Database(copy, { readonly: true });
  assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(d.pragma('journal_mode', { simple: true }), 'delete');
  assert.equal(d.prepare('SELECT count(*) FROM adult').pluck().get(), 49);
  d.close();

  // Published once: a rerun finds nothing to do, and does not upload again.
  await results.put('runs/one/summary.json', 'sentinel');
  const again = runCli(['run', '--unthrottled', '--data-dir', dir, '--db', db, '--log', log, '--results', `s3://${bucket}/runs/one/`], moto.env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already published to s3:\/\/census-results\/runs\/one\//);
  assert.equal((await get('runs/one/summary.json')).toString(), 'sentinel');
});

test('parameters can come from S3, and a missing bucket fails the publish with a clear message', { skip }, async () => {
  const dir = writeSources([lines(records(3)), lines(records(2))]);
  const params = { sources: [{ uri: path.join(dir, 'Adult.data') }, { uri: path.join(dir, 'Adult.test') }], database: path.join(dir, 'c.db'), log: path.join(dir, 'c.log'), unthrottled: true, results: 's3://no-such-bucket/x/', publishRetry: { attempts: 2, minDelaySeconds: 0.1 } };
  await results.put('params.json', JSON.stringify(params));
  // The S3-only endpoint setting works as well as the general one.
  const { AWS_ENDPOINT_URL, ...credentials } = moto.env;
  const r = runCli(['run', '--params', `s3://${bucket}/params.json`], { ...credentials, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_S3: AWS_ENDPOINT_URL });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /upload of s3:\/\/no-such-bucket\/x\/census\.db failed after 2 attempts: .*bucket/i);
  assert.match(r.stdout, /attempt 1\/2 failed/);
  const d = new Database(params.database, { readonly: true });
  assert.equal(d.prepare('SELECT count(*) FROM adult').pluck().get(), 5, 'the load stays committed for a rerun to publish');
  d.close();
});
