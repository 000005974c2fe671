/**
 * S3 on a bad network (moto behind a proxy, or a server that accepts connections and never
 * answers): every request has a timeout, errors that no retry mends fail at once, and a
 * parameters file on S3 is retried like everything else.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { finished, startCli } from '../../support/cli.ts';
import { bookkeeping } from '../../support/db.ts';
import { tempDir } from '../../support/fixtures.ts';
import { mixedSources } from '../../support/generate.ts';
import { freePort, startMoto, type Moto } from '../../../twin/moto.ts';
import { startProxy, type Proxy } from '../../support/proxy.ts';
import { assertCompleteRun, runOf } from '../../support/results.ts';
import { createBucket, type Bucket } from '../../support/s3.ts';
import { skipUnless } from '../../support/tools.ts';
import { literal, waitForLine } from '../../support/watch.ts';

const skip = skipUnless('moto_server');
let moto: Moto;
let proxy: Proxy;
let bucket: Bucket;
/** Accepts every connection and never says a word. */
let silent: { server: Server; endpoint: string; sockets: Set<Socket> };

before(async () => {
  if (skip) return;
  moto = await startMoto();
  proxy = await startProxy(moto.port);
  bucket = await createBucket(moto, 'census-network');
  const sockets = new Set<Socket>();
  const server = createServer((s) => void sockets.add(s));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  silent = { server, endpoint: `http://127.0.0.1:${port}`, sockets };
});
after(async () => {
  for (const s of silent?.sockets ?? []) s.destroy();
  silent?.server.close();
  await proxy?.close();
  await moto?.stop();
});

/** A small load with a params file publishing to `prefix`, reaching S3 at `endpoint`. */
function job(prefix: string, retry: object) {
  const dir = mixedSources(40, 20, tempDir());
  const db = path.join(dir, 'out', 'census.db');
  const log = path.join(dir, 'out', 'census-etl.log');
  const params = { database: db, log, unthrottled: true, results: `s3://${bucket.name}/${prefix}`, retry };
  const file = path.join(dir, 'params.json');
  const write = (changes: object = {}) => writeFileSync(file, JSON.stringify({ ...params, ...changes }));
  write();
  const args = ['run', '--params', file, '--data-dir', dir];
  return {
    dir,
    db,
    params,
    write,
    start: (endpoint: string) => startCli(args, { ...moto.env, AWS_ENDPOINT_URL: endpoint }),
  };
}

test(
  'S3 that accepts connections and never answers: each attempt times out, exit 1 naming the object',
  { skip },
  async () => {
    const j = job('silent/', { attempts: 2, minDelaySeconds: 0.1, timeoutSeconds: 1 });
    const r = await finished(j.start(silent.endpoint));
    assert.equal(r.code, 1, r.stderr);
    const object = `s3://${bucket.name}/silent/${runOf(j.db).id}/run.json`;
    assert.match(
      r.stdout,
      new RegExp(`upload of ${literal(object)}: attempt 1/2 failed \\(no answer within 1s\\); retrying`),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `^census-etl: error: upload of ${literal(object)} failed after 2 attempts: no answer within 1s$`,
        'm',
      ),
    );
    assert.equal(bookkeeping(j.db).batches.length, 0, 'nothing loaded');
  },
);

test('an S3 request left unanswered times out and is retried; the publish completes', { skip }, async () => {
  const j = job('stalled/', { attempts: 3, minDelaySeconds: 0.1, timeoutSeconds: 1 });
  const stalled = proxy.onRequest(new RegExp(`^PUT /${bucket.name}/stalled/[^/]+/census\\.db`), 'stall');
  const r = await finished(j.start(proxy.endpoint));
  await stalled;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /census\.db: attempt 1\/3 failed \(no answer within 1s\); retrying/);
  await assertCompleteRun(bucket, 'stalled/', runOf(j.db));
});

test(
  'errors no retry mends fail at once: no such bucket (exit 1), no such parameters file (exit 2)',
  { skip },
  async () => {
    // The default policy: six attempts over half a minute, were they retried.
    const j = job('x/', { attempts: 6, minDelaySeconds: 1 });
    j.write({ results: 's3://no-such-bucket/x/' });
    const r = await finished(j.start(moto.endpoint));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /no-such-bucket\/x\/\S+ failed: The specified bucket does not exist \(HTTP 404: not retried/,
    );
    assert.doesNotMatch(r.stdout, /attempt \d+\/6 failed/);

    const missing = await finished(
      startCli(['run', '--params', `s3://${bucket.name}/no/params.json`], moto.env),
    );
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /cannot read parameters file: read of parameters file s3:\/\/census-network\/no\/params\.json failed/,
    );
    assert.doesNotMatch(missing.stderr, /attempt/);
  },
);

test(
  '--params s3:// on a failing network: retried (each attempt said), then exit 1; back in time, the run goes',
  { skip },
  async () => {
    const j = job('params/', { attempts: 2, minDelaySeconds: 0.1 });
    await bucket.put('params/params.json', JSON.stringify(j.params));
    const args = ['run', '--params', `s3://${bucket.name}/params/params.json`, '--data-dir', j.dir];

    // Nothing listens at all: every attempt is refused, over the whole default window (~31 s).
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = finished(startCli(args, { ...moto.env, AWS_ENDPOINT_URL: closed }));

    await proxy.down();
    const child = startCli(args, { ...moto.env, AWS_ENDPOINT_URL: proxy.endpoint });
    const result = finished(child);
    assert.ok(
      await waitForLine(
        child,
        /read of parameters file s3:\/\/\S+: attempt 1\/6 failed \(.*\); retrying/,
        'stderr',
      ),
    );
    await proxy.up();
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    await assertCompleteRun(bucket, 'params/', runOf(j.params.database));

    const gone = await refused;
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(
      gone.stderr,
      /^census-etl: error: read of parameters file s3:\/\/\S+\/params\.json failed after 6 .*ECONNREFUSED/m,
    );
  },
);
