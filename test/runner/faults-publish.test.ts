/**
 * Faults while publishing to S3 (moto behind a proxy that fails on demand): a kill, an
 * outage shorter than the retry window, and one longer. summary.json goes last and marks a
 * complete result; the load is never redone to publish it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { sha256 } from '../../runner/publish.ts';
import { finished, startCli } from '../support/cli.ts';
import { assertConsistent, bookkeeping } from '../support/db.ts';
import { tempDir } from '../support/fixtures.ts';
import { mixedSources } from '../support/generate.ts';
import { startMoto, type Moto } from '../../infra/moto.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';
import { literal, waitForLine } from '../support/watch.ts';

const skip = skipUnless('moto_server');
let moto: Moto;
let proxy: Proxy;
let bucket: Bucket;
/** The runner reaches S3 through the proxy. */
const viaProxy = () => ({ ...moto.env, AWS_ENDPOINT_URL: proxy.endpoint });

before(async () => {
  if (skip) return;
  moto = await startMoto();
  proxy = await startProxy(moto.port);
  bucket = await createBucket(moto, 'census-faults');
});
after(async () => {
  await proxy?.close();
  await moto?.stop();
});

let jobs = 0;
/** A small load publishing to its own prefix, with a short retry policy. */
function job(publishRetry: { attempts: number; minDelaySeconds: number }) {
  const dir = mixedSources(120, 60, tempDir());
  const prefix = `runs/${++jobs}/`;
  const db = path.join(dir, 'out', 'census.db');
  const params = { database: db, log: path.join(dir, 'out', 'census-etl.log'), batchSize: 25, unthrottled: true, results: `s3://${bucket.name}/${prefix}`, publishRetry };
  writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
  const start = () => startCli(['run', '--params', path.join(dir, 'params.json'), '--data-dir', dir], viaProxy());
  return { db, prefix, start, run: () => finished(start()) };
}

/** The three objects are there, and summary.json vouches for the other two. */
async function assertPublished(prefix: string) {
  assert.deepEqual(await bucket.keys(prefix), ['census-etl.log', 'census.db', 'summary.json'].map((k) => prefix + k));
  const summary = JSON.parse((await bucket.get(`${prefix}summary.json`)).toString());
  for (const name of ['census.db', 'census-etl.log']) {
    const bytes = await bucket.get(prefix + name);
    assert.deepEqual(summary.objects[name], { bytes: bytes.length, sha256: sha256(bytes) }, name);
  }
  assert.equal(summary.complete, true);
}

/** Loaded completely, consistent, and not recorded as published. */
function assertLoadedNotPublished(db: string) {
  assertConsistent(db, 'after the failed publish');
  const d = new Database(db, { readonly: true });
  assert.deepEqual(d.prepare('SELECT published_at, published_to FROM run').get(), { published_at: null, published_to: null });
  d.close();
  for (const s of bookkeeping(db).sources) assert.equal(s.read, s.lines, `${s.name} fully loaded`);
}

/** A rerun publishes what the first run loaded, without loading a batch. */
async function assertRerunPublishes(j: ReturnType<typeof job>) {
  const batches = bookkeeping(j.db).batches;
  const r = await j.run();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, / batch \d+\/\d+: /, 'nothing reloaded');
  assert.match(r.stdout, /published to s3:\/\/census-faults\/runs\/\d+\//);
  assert.deepEqual(bookkeeping(j.db).batches, batches);
  await assertPublished(j.prefix);
}

for (const object of ['census.db', 'summary.json']) {
  test(`SIGKILL while ${object} is being uploaded: no result visible, a restart publishes without reloading`, { skip }, async () => {
    const j = job({ attempts: 2, minDelaySeconds: 0.1 });
    const stalled = proxy.onRequest(new RegExp(`^PUT /${literal(`${bucket.name}/${j.prefix}${object}`)}`), 'stall');
    const child = j.start();
    const result = finished(child);
    await stalled;
    child.kill('SIGKILL');
    assert.equal((await result).signal, 'SIGKILL');
    assert.equal((await bucket.keys(j.prefix)).includes(`${j.prefix}summary.json`), false, 'no completion marker');
    assertLoadedNotPublished(j.db);
    await assertRerunPublishes(j);
  });
}

test('S3 down mid-publish and back within the retry window: the retries are logged and the publish succeeds', { skip }, async () => {
  const j = job({ attempts: 4, minDelaySeconds: 0.5 });
  const outage = proxy.onRequest(new RegExp(`^PUT /${literal(`${bucket.name}/${j.prefix}census-etl.log`)}`), 'down');
  const child = j.start();
  const result = finished(child);
  const retrying = waitForLine(child, /upload of s3:\/\/census-faults\/runs\/\d+\/census-etl\.log: attempt 1\/4 failed \(.+\); retrying/);
  await outage;
  assert.ok(await retrying, 'the failed attempt is logged');
  await proxy.up();
  const r = await result;
  assert.equal(r.code, 0, r.stderr);
  await assertPublished(j.prefix);
});

test('S3 down beyond the retry window: exit 1 with a clear message, the database consistent, a rerun publishes', { skip }, async () => {
  const j = job({ attempts: 2, minDelaySeconds: 0.2 });
  const outage = proxy.onRequest(new RegExp(`^PUT /${literal(`${bucket.name}/${j.prefix}census-etl.log`)}`), 'down');
  const r = await j.run();
  await outage;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^census-etl: error: upload of s3:\/\/census-faults\/runs\/\d+\/census-etl\.log failed after 2 attempts: connect ECONNREFUSED 127\.0\.0\.1:\d+; the load is complete in .*census\.db: run again to publish it$/m);
  assert.match(r.stdout, /census-etl\.log: attempt 1\/2 failed/);
  assert.equal((await bucket.keys(j.prefix)).includes(`${j.prefix}summary.json`), false, 'no completion marker');
  assertLoadedNotPublished(j.db);
  await proxy.up();
  await assertRerunPublishes(j);
});
