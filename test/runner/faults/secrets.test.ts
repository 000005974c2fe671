/**
 * Nothing secret is ever written: a run with AWS credentials (a session token too) in its
 * environment, publishing to moto, and loading a source through a signed URL; neither its
 * output, its log, summary.json nor the published database holds any of them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { finished, startCli } from '../../support/cli.ts';
import { lines, records, tempDir } from '../../support/fixtures.ts';
import { startSourceServer, type SourceServer } from '../../support/https.ts';
import { startMoto, type Moto } from '../../../twin/moto.ts';
import { createBucket, type Bucket } from '../../support/s3.ts';
import { skipUnless } from '../../support/tools.ts';

const skip = skipUnless('moto_server') || skipUnless('openssl');
const secret = (prefix: string, bytes: number) =>
  `${prefix}${randomBytes(bytes).toString('hex').toUpperCase()}`;
const SECRETS = {
  AWS_ACCESS_KEY_ID: secret('AKIA', 8),
  AWS_SECRET_ACCESS_KEY: secret('', 20),
  AWS_SESSION_TOKEN: secret('FwoGZXIvYXdzE', 60),
};
/** A pre-signed URL carries its signature in the query string. */
const SIGNATURE = secret('', 32);

let moto: Moto;
let bucket: Bucket;
let sources: SourceServer;
before(async () => {
  if (skip) return;
  moto = await startMoto();
  bucket = await createBucket(moto, 'census-secrets');
  sources = await startSourceServer({ 'Adult.test': { body: Buffer.from(lines(records(4, 10))) } });
});
after(async () => {
  await sources?.close();
  await moto?.stop();
});

test(
  'credentials in the environment and a signed source URL ' +
    'appear in no output, log, summary or published object',
  { skip },
  async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'Adult.data'), lines(records(10)));
    const signed =
      `${sources.url('Adult.test')}?X-Amz-Credential=${SECRETS.AWS_ACCESS_KEY_ID}` +
      `&X-Amz-Security-Token=${SECRETS.AWS_SESSION_TOKEN}&X-Amz-Signature=${SIGNATURE}`;
    const params = {
      sources: [{ uri: path.join(dir, 'Adult.data') }, { uri: signed }],
      database: path.join(dir, 'out', 'census.db'),
      log: path.join(dir, 'out', 'census-etl.log'),
      unthrottled: true,
      results: `s3://${bucket.name}/run/`,
    };
    writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
    const r = await finished(
      startCli(['run', '--params', path.join(dir, 'params.json')], {
        ...moto.env,
        ...SECRETS,
        ...sources.env,
      }),
    );
    assert.equal(r.code, 0, r.stderr);

    const written: Record<string, string> = {
      stdout: r.stdout,
      stderr: r.stderr,
      'local log': readFileSync(params.log, 'latin1'),
      'local summary.json': readFileSync(path.join(dir, 'out', 'summary.json'), 'latin1'),
      'local database': readFileSync(params.database, 'latin1'),
    };
    for (const key of await bucket.keys('run/'))
      written[`s3://${bucket.name}/${key}`] = (await bucket.get(key)).toString('latin1');
    assert.equal(Object.keys(written).length, 5 + 5, 'five objects published');
    for (const [where, text] of Object.entries(written)) {
      for (const [name, value] of Object.entries({ ...SECRETS, SIGNATURE }))
        assert.equal(text.includes(value), false, `${name} found in ${where}`);
    }
  },
);
