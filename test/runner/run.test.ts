/**
 * A run's record while it goes on (moto behind a recording proxy): progress uploads happen,
 * are bounded, and never hold a batch up; a stopped run says so in run.json.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLog } from '../../runner/shared/log.ts';
import { DEFAULTS, type Params } from '../../runner/params.ts';
import { PROGRESS_EVERY_SECONDS, type RunDocument } from '../../runner/publish/results.ts';
import { runJob } from '../../runner/pipeline.ts';
import { finished, runArgs, startCli } from '../support/cli.ts';
import { bookkeeping } from '../support/db.ts';
import { tempDir } from '../support/fixtures.ts';
import { mixedSources } from '../support/generate.ts';
import { startMoto, type Moto } from '../../twin/moto.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';
import { assertCompleteRun, runJson, runOf } from '../support/results.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';
import { literal, sleep, waitForLine } from '../support/watch.ts';

const skip = skipUnless('moto_server');
let moto: Moto;
let proxy: Proxy;
let bucket: Bucket;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  proxy = await startProxy(moto.port);
  bucket = await createBucket(moto, 'census-tracking');
  // The jobs below run in this process; their S3 client goes through the proxy.
  Object.assign(process.env, moto.env, { AWS_ENDPOINT_URL: proxy.endpoint });
});
after(async () => {
  await proxy?.close();
  await moto?.stop();
});

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

/** A scheduled load of about `batches` one-second batches, publishing to `prefix`. */
function scheduled(prefix: string, batches: number): Params {
  const dir = mixedSources(batches * 10 - 5, 5, tempDir());
  const out = path.join(dir, 'out');
  return {
    ...DEFAULTS,
    dataDir: dir,
    database: path.join(out, 'census.db'),
    log: path.join(out, 'census-etl.log'),
    batchSize: 10,
    everySeconds: 1,
    results: `s3://${bucket.name}/${prefix}`,
  };
}

const puts = (key: string) => proxy.seen.filter((s) => s.line.startsWith(`PUT /${bucket.name}/${key}`));

test(
  'progress: the log and run.json go up while the run loads, at most once per interval, never more',
  { skip },
  async () => {
    const params = scheduled('progress/', 8);
    const every = 1; // seconds; the product's is PROGRESS_EVERY_SECONDS
    const seen: RunDocument[] = [];
    let loading = true;
    const started = Date.now();
    const job = runJob(params, { log: createLog(params.log, quiet), progressEverySeconds: every }).finally(
      () => (loading = false),
    );
    // Watch run.json from outside while the run goes on, as `npm run sync` would.
    while (loading) {
      await sleep(300);
      const keys = await bucket.keys('progress/');
      const doc = keys.find((k) => k.endsWith('/run.json'));
      if (doc && loading) seen.push(JSON.parse((await bucket.get(doc)).toString()));
    }
    const outcome = await job;
    const elapsed = Date.now() - started;
    const run = runOf(params.database);
    await assertCompleteRun(bucket, 'progress/', run);

    const mid = seen.filter(
      (d) => d.state === 'running' && d.progress && d.progress.batches > 0 && d.progress.percent < 100,
    );
    assert.ok(
      mid.length > 0,
      `a reader saw the run's progress while it loaded: ${seen.map((d) => d.progress?.batches)}`,
    );
    // Claim, start, progress, complete: run.json is written 3 + n times, the log 1 + n (+ the publish).
    const runPuts = puts(`progress/${run.id}/run.json`).length;
    const logPuts = puts(`progress/${run.id}/census-etl.log`).length;
    const progress = runPuts - 3;
    assert.equal(logPuts, 1 + progress + 1, 'each progress upload sends the log with run.json');
    assert.ok(progress >= 2, `${progress} progress uploads in ${outcome.load?.batches} batches`);
    assert.ok(
      progress <= Math.floor(elapsed / (every * 1000)),
      `${progress} progress uploads in ${elapsed} ms: more than one per ${every}s`,
    );
    // With the product's interval that is at most 2 PUTs every PROGRESS_EVERY_SECONDS: 6 a minute.
    assert.ok((2 * 60) / PROGRESS_EVERY_SECONDS <= 6);
  },
);

test(
  'a progress upload that S3 never answers holds no batch up; it is abandoned and the run publishes',
  { skip },
  async () => {
    const params = scheduled('stalled/', 6);
    const log = createLog(params.log, quiet);
    const job = runJob(params, { log, progressEverySeconds: 1 });
    // Once the start is recorded, the next upload of the log is the first progress upload.
    while (!existsSync(params.log) || !readFileSync(params.log, 'utf8').includes('run recorded at'))
      await sleep(20);
    await proxy.onRequest(
      new RegExp(`^PUT /${literal(bucket.name)}/stalled/[^/]+/census-etl\\.log`),
      'stall',
    );
    const atStall = bookkeeping(params.database).batches.length;
    const outcome = await job;
    assert.ok(outcome.published, 'published');
    const after = bookkeeping(params.database).batches.length;
    assert.ok(after > atStall + 1, `batches went on while the upload hung (${atStall} then ${after})`);
    const text = readFileSync(params.log, 'utf8');
    assert.match(
      text,
      /progress upload to s3:\/\/census-tracking\/stalled\/\S+ failed \(.*abort.*\); next try in 1s/i,
    );
    await assertCompleteRun(bucket, 'stalled/', runOf(params.database));
  },
);

test(
  'SIGTERM with results: run.json says stopped and why, the log is there, exit 143; a rerun completes',
  { skip },
  async () => {
    const params = scheduled('stopped/', 10);
    const dir = params.dataDir!;
    const load = runArgs({ dir, db: params.database, log: params.log, batchSize: 10 });
    const args = [...load, '--every', '1', '--results', params.results!];
    const child = startCli(args, { ...moto.env });
    const result = finished(child);
    assert.ok(await waitForLine(child, / batch 2\/\d+: /));
    child.kill('SIGTERM');
    const r = await result;
    assert.equal(r.code, 143, r.stderr);
    assert.match(
      r.stderr,
      /^census-etl: stopped by SIGTERM; every committed batch is kept, run again to resume$/m,
    );
    const run = runOf(params.database);
    const doc = await runJson(bucket, 'stopped/', run.id);
    assert.equal(doc.state, 'stopped');
    assert.equal(doc.why, 'stopped by SIGTERM');
    assert.equal(
      doc.progress?.batches,
      bookkeeping(params.database).batches.length,
      'the progress of the last committed batch',
    );
    const uploaded = (await bucket.get(`stopped/${run.id}/census-etl.log`)).toString();
    assert.match(uploaded, /census-etl: stopped by SIGTERM; every committed batch is kept/);

    const rerun = await finished(
      startCli([...args.slice(0, 1), '--unthrottled', ...args.slice(3)], { ...moto.env }),
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    await assertCompleteRun(bucket, 'stopped/', run);
  },
);
