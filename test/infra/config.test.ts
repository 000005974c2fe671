/** Settings from the environment: defaults, and an error naming the variable for each bad value. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, readConfig, scheduleProblem } from '../../infra/config.ts';
import { DATA_DIR, ROOT } from '../support/cli.ts';

test('defaults: us-east-1, t3.micro (x86_64), no SSH, 30 minutes, the runner schedule, no fixed date', () => {
  assert.deepEqual(readConfig({}), {
    region: 'us-east-1',
    instanceType: 't3.micro',
    architecture: 'x86_64',
    ssh: null,
    timeLimitMinutes: 30,
    batchSize: 1630,
    everySeconds: 10,
    ingestionDate: null,
    dataDir: null,
    emulator: null,
    stateFile: path.join(ROOT, 'terraform.census-etl.tfstate'),
  });
  assert.equal(readConfig({ AWS_REGION: 'eu-west-1' }).region, 'eu-west-1');
  assert.equal(readConfig({ AWS_REGION: 'eu-west-1', CENSUS_REGION: 'sa-east-1' }).region, 'sa-east-1');
});

test('every setting can be given', () => {
  const c = readConfig({
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
  });
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
    emulator: { endpoint: 'http://127.0.0.1:5000' },
    stateFile: path.join(ROOT, 'elsewhere.tfstate'),
  });
});

test('SSH: any key pair name EC2 takes, up to 255 printable ASCII characters; CIDRs up to /16', () => {
  for (const keyName of ['my key-pair_2024.v1 (laptop)', 'cost$5 100% {x} $ %', 'k'.repeat(255)]) {
    const env = { CENSUS_SSH_KEY_NAME: keyName, CENSUS_SSH_CIDR: '10.1.0.0/16' };
    assert.deepEqual(readConfig(env).ssh, { keyName, cidr: '10.1.0.0/16' });
  }
});

const rejects: [NodeJS.ProcessEnv, RegExp][] = [
  [{ CENSUS_REGION: 'Europe' }, /^CENSUS_REGION: "Europe" is not an AWS region/],
  [{ CENSUS_INSTANCE_TYPE: 'micro' }, /^CENSUS_INSTANCE_TYPE: "micro" is not an instance type/],
  [{ CENSUS_INSTANCE_TYPE: 'mac2.metal' }, /^CENSUS_INSTANCE_TYPE: "mac2.metal" is a Mac instance/],
  [{ CENSUS_SSH_KEY_NAME: 'laptop' }, /SSH needs both CENSUS_SSH_KEY_NAME .* and CENSUS_SSH_CIDR/],
  [{ CENSUS_SSH_CIDR: '203.0.113.7/32' }, /SSH needs both CENSUS_SSH_KEY_NAME .* and CENSUS_SSH_CIDR/],
  [
    { CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '203.0.113.7' },
    /^CENSUS_SSH_CIDR: "203.0.113.7" is not an IPv4 CIDR/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '300.0.113.7/32' },
    /^CENSUS_SSH_CIDR: "300.0.113.7\/32" is not an IPv4 CIDR/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '0.0.0.0/0' },
    /^CENSUS_SSH_CIDR: "0.0.0.0\/0" opens SSH to the whole internet/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '128.0.0.0/1' },
    /^CENSUS_SSH_CIDR: "128.0.0.0\/1" opens SSH to 2,147,483,648 addresses \(\/16 at most\); give your own/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'k', CENSUS_SSH_CIDR: '10.0.0.0/15' },
    /^CENSUS_SSH_CIDR: "10.0.0.0\/15" opens SSH to 131,072 addresses \(\/16 at most\)/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'laptop${file("/etc/passwd")}', CENSUS_SSH_CIDR: '203.0.113.7/32' },
    /^CENSUS_SSH_KEY_NAME: "laptop\$\{file.*" holds "\$\{", which Terraform would evaluate as a template/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'laptop%{ if true }x%{ endif }', CENSUS_SSH_CIDR: '203.0.113.7/32' },
    /^CENSUS_SSH_KEY_NAME: .* holds "%\{", which Terraform would evaluate as a template in key_name$/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'laptop\x1b]0;owned\x07', CENSUS_SSH_CIDR: '203.0.113.7/32' },
    /^CENSUS_SSH_KEY_NAME: character 7 is U\+001B; an EC2 key pair name is printable ASCII$/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'clé', CENSUS_SSH_CIDR: '203.0.113.7/32' },
    /^CENSUS_SSH_KEY_NAME: character 3 is U\+00E9; an EC2 key pair name is printable ASCII$/,
  ],
  [
    { CENSUS_SSH_KEY_NAME: 'k'.repeat(256), CENSUS_SSH_CIDR: '203.0.113.7/32' },
    /^CENSUS_SSH_KEY_NAME: 256 characters; an EC2 key pair name has 255 at most$/,
  ],
  [{ CENSUS_TIME_LIMIT_MINUTES: '5' }, /^CENSUS_TIME_LIMIT_MINUTES: "5" must be between 10 and 720 minutes/],
  [{ CENSUS_TIME_LIMIT_MINUTES: 'soon' }, /^CENSUS_TIME_LIMIT_MINUTES: "soon" is not a whole number/],
  [{ CENSUS_BATCH_SIZE: '0' }, /^CENSUS_BATCH_SIZE: "0" /],
  [
    { CENSUS_EVERY_SECONDS: '7' },
    /^CENSUS_EVERY_SECONDS: "7" must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60/,
  ],
  [
    { CENSUS_INGESTION_DATE: '2026-02-30' },
    /^CENSUS_INGESTION_DATE: "2026-02-30" is not a date as YYYY-MM-DD/,
  ],
  [{ CENSUS_AWS_ENDPOINT: 'moto' }, /^CENSUS_AWS_ENDPOINT: "moto" is not a URL/],
  [
    { CENSUS_AWS_ENDPOINT: 'https://s3.amazonaws.com' },
    /^CENSUS_AWS_ENDPOINT: .* must be a local emulator on loopback/,
  ],
];

for (const [env, message] of rejects) {
  test(`rejects ${JSON.stringify(env)}`, () => {
    assert.throws(
      () => readConfig(env),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
    );
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

test('a schedule that cannot finish within the time limit is refused, with the arithmetic', () => {
  const lines = 48_845;
  const limit = (batchSize: number, everySeconds: number, timeLimitMinutes: number) =>
    scheduleProblem(lines, { batchSize, everySeconds, timeLimitMinutes });
  assert.equal(limit(1630, 10, 30), null, 'the default: 30 batches, 5 min of loading');
  assert.equal(limit(1630, 10, 10), null, '5 min + 5 min fits 10 exactly');
  const slow = limit(100, 60, 30);
  assert.equal(
    slow,
    'CENSUS_BATCH_SIZE=100 and CENSUS_EVERY_SECONDS=60 need ' +
      'ceil(48845 lines / 100) = 489 batches × 60 s = 489 min, ' +
      'plus 5 min to boot and publish: 494 min, more than CENSUS_TIME_LIMIT_MINUTES=30. ' +
      'Raise the batch size or the limit (up to 720), or shorten the interval.',
  );
  assert.match(
    limit(1630, 20, 14)!,
    /= 30 batches × 20 s = 10 min, plus 5 min to boot and publish: 15 min, more than/,
  );
  assert.match(limit(1000, 15, 15)!, /= 49 batches × 15 s = 12\.3 min, plus 5 min .*: 17\.3 min/);
});

test('the app refuses such a schedule before any work: exit 2, the message', () => {
  const slow = { CENSUS_BATCH_SIZE: '100', CENSUS_EVERY_SECONDS: '60', CENSUS_DATA_DIR: DATA_DIR };
  const env = { ...process.env, ...slow, CDKTF_OUTDIR: '/nonexistent' };
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^census-etl infra: CENSUS_BATCH_SIZE=100 and CENSUS_EVERY_SECONDS=60 need ceil\(48845 lines/m,
  );
});
