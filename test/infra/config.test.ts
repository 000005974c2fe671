/** Settings from the environment: defaults, and an error naming the variable for each bad value. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, readConfig } from '../../infra/config.ts';
import { ROOT } from '../support/cli.ts';

const today = new Date('2026-05-04T23:59:00Z');

test('defaults: us-east-1, t3.micro (x86_64), no SSH, 30 minutes, the runner schedule, today', () => {
  assert.deepEqual(readConfig({}, today), {
    region: 'us-east-1',
    instanceType: 't3.micro',
    architecture: 'x86_64',
    ssh: null,
    timeLimitMinutes: 30,
    batchSize: 1630,
    everySeconds: 10,
    ingestionDate: '2026-05-04',
    dataDir: null,
    localEndpoint: null,
    stateFile: path.join(ROOT, 'terraform.census-etl.tfstate'),
  });
  assert.equal(readConfig({ AWS_REGION: 'eu-west-1' }, today).region, 'eu-west-1');
  assert.equal(readConfig({ AWS_REGION: 'eu-west-1', CENSUS_REGION: 'sa-east-1' }, today).region, 'sa-east-1');
});

test('every setting can be given', () => {
  const c = readConfig(
    {
      CENSUS_REGION: 'eu-central-1',
      CENSUS_INSTANCE_TYPE: 't4g.small',
      CENSUS_SSH_KEY_NAME: 'laptop',
      CENSUS_SSH_CIDR: '198.51.100.0/24',
      CENSUS_TIME_LIMIT_MINUTES: '45',
      CENSUS_BATCH_SIZE: '5000',
      CENSUS_EVERY_SECONDS: '1',
      CENSUS_INGESTION_DATE: '2024-02-29',
      CENSUS_DATA_DIR: '/data/adult',
      CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000/',
      CENSUS_STATE_FILE: 'elsewhere.tfstate',
    },
    today,
  );
  assert.deepEqual(c, {
    region: 'eu-central-1',
    instanceType: 't4g.small',
    architecture: 'arm64',
    ssh: { keyName: 'laptop', cidr: '198.51.100.0/24' },
    timeLimitMinutes: 45,
    batchSize: 5000,
    everySeconds: 1,
    ingestionDate: '2024-02-29',
    dataDir: '/data/adult',
    localEndpoint: 'http://127.0.0.1:5000',
    stateFile: path.join(ROOT, 'elsewhere.tfstate'),
  });
});

const rejects: [NodeJS.ProcessEnv, RegExp][] = [
  [{ CENSUS_REGION: 'Europe' }, /^CENSUS_REGION: "Europe" is not an AWS region/],
  [{ CENSUS_INSTANCE_TYPE: 'micro' }, /^CENSUS_INSTANCE_TYPE: "micro" is not an instance type/],
  [{ CENSUS_INSTANCE_TYPE: 'mac2.metal' }, /^CENSUS_INSTANCE_TYPE: "mac2.metal" is a Mac instance/],
  [{ CENSUS_SSH_KEY_NAME: 'laptop' }, /SSH needs both CENSUS_SSH_KEY_NAME .* and CENSUS_SSH_CIDR/],
  [{ CENSUS_SSH_CIDR: '203.0.113.7/32' }, /SSH needs both CENSUS_SSH_KEY_NAME .* and CENSUS_SSH_CIDR/],
  [{ CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '203.0.113.7' }, /^CENSUS_SSH_CIDR: "203.0.113.7" is not an IPv4 CIDR/],
  [{ CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '300.0.113.7/32' }, /^CENSUS_SSH_CIDR: "300.0.113.7\/32" is not an IPv4 CIDR/],
  [{ CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '0.0.0.0/0' }, /^CENSUS_SSH_CIDR: "0.0.0.0\/0" opens SSH to the whole internet/],
  [{ CENSUS_TIME_LIMIT_MINUTES: '5' }, /^CENSUS_TIME_LIMIT_MINUTES: "5" must be between 10 and 720 minutes/],
  [{ CENSUS_TIME_LIMIT_MINUTES: 'soon' }, /^CENSUS_TIME_LIMIT_MINUTES: "soon" is not a whole number/],
  [{ CENSUS_BATCH_SIZE: '0' }, /^CENSUS_BATCH_SIZE: "0" /],
  [{ CENSUS_EVERY_SECONDS: '7' }, /^CENSUS_EVERY_SECONDS: "7" must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60/],
  [{ CENSUS_INGESTION_DATE: '2026-02-30' }, /^CENSUS_INGESTION_DATE: "2026-02-30" is not a date as YYYY-MM-DD/],
  [{ CENSUS_AWS_ENDPOINT: 'moto' }, /^CENSUS_AWS_ENDPOINT: "moto" is not a URL/],
  [{ CENSUS_AWS_ENDPOINT: 'https://s3.amazonaws.com' }, /^CENSUS_AWS_ENDPOINT: .* must be a local emulator on loopback/],
];

for (const [env, message] of rejects) {
  test(`rejects ${JSON.stringify(env)}`, () => {
    assert.throws(() => readConfig(env, today), (e: Error) => e instanceof ConfigError && message.test(e.message));
  });
}

test('the app (cdktf synth) stops with exit 2 and the message, before any work', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, CENSUS_EVERY_SECONDS: '7', CDKTF_OUTDIR: '/nonexistent' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^census-etl infra: CENSUS_EVERY_SECONDS: "7" must be one of/);
});
