/**
 * Faults while publishing to S3 (moto behind a proxy that fails on demand): a kill, an
 * outage shorter than the retry window, and one longer. run.json "complete" and latest.json
 * come last and mark a complete result; the load is never redone to publish it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { finished, startCli } from '../../support/cli.ts';
import { assertConsistent, bookkeeping } from '../../support/db.ts';
import { tempDir } from '../../support/fixtures.ts';
import { mixedSources } from '../../support/generate.ts';
import { startMoto, type Moto } from '../../../twin/moto.ts';
import { startProxy, type Proxy } from '../../support/proxy.ts';
import { assertCompleteRun, runJson } from '../../support/results.ts';
import { createBucket, type Bucket } from '../../support/s3.ts';
import { skipUnless } from '../../support/tools.ts';
import { literal, waitForLine } from '../../support/watch.ts';

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
/** The instance gives the run its id; so do these jobs, so that the keys are known in advance. */
const RUN = { id: '20261124T120000Z-local', release: 'local' };

/** A small load publishing to its own results location, with a short retry policy. */
function job(retry: { attempts: number; minDelaySeconds: number }) {
  const dir = mixedSources(120, 60, tempDir());
  const prefix = `runs/${++jobs}/`;
  const db = path.join(dir, 'out', 'census.db');
  const log = path.join(dir, 'out', 'census-etl.log');
  const results = `s3://${bucket.name}/${prefix}`;
  const params = { database: db, log, batchSize: 25, unthrottled: true, results, retry };
  writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
  const args = ['run', '--params', path.join(dir, 'params.json'), '--data-dir', dir, '--run-id', RUN.id];
  const start = () => startCli(args, viaProxy());
  const key = (name: string) => `${bucket.name}/${prefix}${RUN.id}/${name}`;
  return { db, prefix, key, start, run: () => finished(start()) };
}

/** No complete result is visible: run.json does not say complete, and there is no latest.json. */
async function assertNoResult(prefix: string) {
  const keys = await bucket.keys(prefix);
  assert.equal(keys.includes(`${prefix}latest.json`), false, 'no latest.json');
  if (keys.includes(`${prefix}${RUN.id}/run.json`)) {
    assert.notEqual((await runJson(bucket, prefix, RUN.id)).state, 'complete');
  }
}

/** Loaded completely, consistent, and not recorded as published. */
function assertLoadedNotPublished(db: string) {
  assertConsistent(db, 'after the failed publish');
  const d = new Database(db, { readonly: true });
  assert.deepEqual(d.prepare('SELECT published_at, published_to FROM run').get(), {
    published_at: null,
    published_to: null,
  });
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
  await assertCompleteRun(bucket, j.prefix, RUN);
}

for (const object of ['census.db', 'summary.json']) {
  test(
    `SIGKILL while ${object} is being uploaded: no result visible, a restart publishes without reloading`,
    { skip },
    async () => {
      const j = job({ attempts: 2, minDelaySeconds: 0.1 });
      const stalled = proxy.onRequest(new RegExp(`^PUT /${literal(j.key(object))}`), 'stall');
      const child = j.start();
      const result = finished(child);
      await stalled;
      child.kill('SIGKILL');
      assert.equal((await result).signal, 'SIGKILL');
      await assertNoResult(j.prefix);
      assertLoadedNotPublished(j.db);
      await assertRerunPublishes(j);
    },
  );
}

test(
  'S3 down mid-publish and back within the retry window: the retries are logged and the publish succeeds',
  { skip },
  async () => {
    const j = job({ attempts: 4, minDelaySeconds: 0.5 });
    const outage = proxy.onRequest(new RegExp(`^PUT /${literal(j.key('census.db'))}`), 'down');
    const child = j.start();
    const result = finished(child);
    const attempt = `upload of s3://${literal(j.key('census.db'))}: attempt 1/4 failed \\(.+\\); retrying`;
    const retrying = waitForLine(child, new RegExp(attempt));
    await outage;
    assert.ok(await retrying, 'the failed attempt is logged');
    await proxy.up();
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    await assertCompleteRun(bucket, j.prefix, RUN);
  },
);

test(
  'S3 down beyond the retry window: exit 1 with a clear message, the database consistent, a rerun publishes',
  { skip },
  async () => {
    const j = job({ attempts: 2, minDelaySeconds: 0.2 });
    const outage = proxy.onRequest(new RegExp(`^PUT /${literal(j.key('census.db'))}`), 'down');
    const r = await j.run();
    await outage;
    assert.equal(r.code, 1, r.stderr);
    const upload = `upload of s3://${literal(j.key('census.db'))}`;
    const failed = `${upload} failed after 2 attempts: connect ECONNREFUSED [\\d.:]+`;
    const forward = 'the load is complete in .*census\\.db: run again to publish it';
    assert.match(r.stderr, new RegExp(`^census-etl: error: ${failed}; ${forward}$`, 'm'));
    assert.match(r.stdout, /census\.db: attempt 1\/2 failed/);
    await assertNoResult(j.prefix);
    assertLoadedNotPublished(j.db);
    await proxy.up();
    await assertRerunPublishes(j);
  },
);
