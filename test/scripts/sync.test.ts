/** npm run sync against a real S3 (moto): verified downloads, a report, clear failures. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { ROOT, runCli } from '../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../support/fixtures.ts';
import { startMoto, type Moto } from '../../infra/moto.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';
import { applyOutputs } from './state.ts';

const skip = skipUnless('moto_server');
let moto: Moto;
let results: Bucket;
const bucket = 'census-sync';

/** The sync script as the user runs it, with the stack's results location given. */
function sync(resultsUri: string, out: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'sync.ts'), '--out', out], {
    cwd: ROOT,
    env: { ...process.env, ...moto.env, CENSUS_RESULTS_URI: resultsUri },
    encoding: 'utf8',
  });
}

/** A real published run under `prefix`. */
function publish(prefix: string): void {
  const dir = writeSources([lines([...records(20), record(3, { age: 'x' })]), lines(records(5, 20))]);
  const r = runCli(['run', '--unthrottled', '--data-dir', dir, '--db', path.join(dir, 'out', 'c.db'), '--log', path.join(dir, 'out', 'c.log'), '--results', `s3://${bucket}/${prefix}`], moto.env);
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  if (skip) return;
  moto = await startMoto();
  results = await createBucket(moto, bucket);
});
after(async () => moto?.stop());

test('downloads db, log and summary, checks them, and writes the report next to them', { skip }, () => {
  publish('ok/');
  const out = tempDir();
  const r = sync(`s3://${bucket}/ok/`, out);
  assert.equal(r.status, 0, r.stderr);
  for (const name of ['census.db', 'census-etl.log', 'summary.json']) assert.ok(r.stdout.includes(path.join(out, name)), name);
  const db = new Database(path.join(out, 'census.db'), { readonly: true });
  assert.equal(db.prepare('SELECT count(*) FROM adult').pluck().get(), 25);
  db.close();
  const report = r.stdout.trim().split('\n').slice(3);
  assert.ok(report.length > 0 && report.every((f) => existsSync(f)), `report files: ${report.join(', ')}`);
});

test('a database that does not match the summary checksum is refused', { skip }, async () => {
  publish('tampered/');
  await results.put('tampered/census.db', 'not the database');
  const out = tempDir();
  const r = sync(`s3://${bucket}/tampered/`, out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^sync: s3:\/\/census-sync\/tampered\/census\.db: sha256 [0-9a-f]{64} is not the [0-9a-f]{64} that summary\.json lists$/m);
  assert.ok(!existsSync(path.join(out, 'census.db')));
});

test('a failed run: the log is downloaded and the message says the run published nothing', { skip }, async () => {
  await results.put('failed/census-etl.log', 'census-etl: error: source gone\n');
  const out = tempDir();
  const r = sync(`s3://${bucket}/failed/`, out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the run did not publish a database \(no summary\.json at s3:\/\/census-sync\/failed\/\); its log is in .*census-etl\.log/);
  assert.equal(readFileSync(path.join(out, 'census-etl.log'), 'utf8'), 'census-etl: error: source gone\n');
});

test('nothing yet: the run is still going', { skip }, async () => {
  await results.delete('none/summary.json');
  const r = sync(`s3://${bucket}/none/`, tempDir());
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no results at s3:\/\/census-sync\/none\/ yet: the run is still going/);
});

const fromState = { skip: skip || skipUnless('terraform') };
test('without CENSUS_RESULTS_URI, the location comes from the state; none: deploy first', fromState, () => {
  const state = path.join(tempDir(), 'terraform.tfstate');
  const env = { ...process.env, ...moto.env, CENSUS_RESULTS_URI: '', CENSUS_STATE_FILE: state };
  const script = path.join(ROOT, 'scripts', 'sync.ts');
  const args = ['--import', 'tsx', script, '--out', tempDir()];
  const run = () => spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const missing = run();
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no deployed stack: cannot read .*\.tfstate \(ENOENT\); run `npx cdktf/);

  publish('from-state/');
  applyOutputs(env, { region: 'us-east-1', results_uri: `s3://${bucket}/from-state/` });
  const found = run();
  assert.equal(found.status, 0, found.stderr);
});
