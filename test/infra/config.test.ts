/** Settings from the environment: defaults, and an error naming the variable for each bad value. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { RDS_CA_BUNDLE, rdsCaBundle, readCaBundle } from '../../infra/cabundle.ts';
import {
  ConfigError,
  DATABASE_WAIT_MINUTES,
  connectWaitSeconds,
  readConfig,
  scheduleProblem,
} from '../../infra/config.ts';
import { DEFAULTS } from '../../runner/params.ts';
import { tempDir } from '../support/fixtures.ts';
import { DATA_DIR, ROOT } from '../support/cli.ts';

test('defaults: us-east-1, t3.micro (x86_64), no SSH, 30 minutes, the runner schedule, no fixed date', () => {
  assert.deepEqual(readConfig({}), {
    region: 'us-east-1',
    instanceType: 't3.micro',
    architecture: 'x86_64',
    ssh: null,
    postgres: null,
    timeLimitMinutes: 30,
    batchSize: 1630,
    everySeconds: 10,
    ingestionDate: null,
    dataset: null,
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
    CENSUS_DATASET: 'data/datapackage.json',
    CENSUS_DATA_DIR: '/data/adult',
    CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000/',
    CENSUS_STATE_FILE: 'elsewhere.tfstate',
  });
  assert.deepEqual(c, {
    region: 'eu-central-1',
    instanceType: 't4g.small',
    architecture: 'arm64',
    ssh: { keyName: 'laptop', cidr: '198.51.100.0/24' },
    postgres: null,
    timeLimitMinutes: 45,
    batchSize: 5000,
    everySeconds: 1,
    ingestionDate: '2024-02-29',
    dataset: path.join(ROOT, 'data', 'datapackage.json'),
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

const POSTGRES = { CENSUS_DESTINATION: 'postgres' };

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
  [{ CENSUS_DATASET: 'ftp://example.com/dp.json' }, /^CENSUS_DATASET: must be a local path, an s3/],
  [{ CENSUS_DATASET: 'https://u:secret@example.com/dp.json' }, /^CENSUS_DATASET: holds credentials/],
  [{ CENSUS_AWS_ENDPOINT: 'moto' }, /^CENSUS_AWS_ENDPOINT: "moto" is not a URL/],
  [
    { CENSUS_AWS_ENDPOINT: 'https://s3.amazonaws.com' },
    /^CENSUS_AWS_ENDPOINT: .* must be a local emulator on loopback/,
  ],
  [
    { CENSUS_DESTINATION: 'mysql' },
    /^CENSUS_DESTINATION: "mysql" is not a destination: sqlite \(the default\) or postgres$/,
  ],
  [{ CENSUS_DESTINATION: 'Postgres' }, /^CENSUS_DESTINATION: "Postgres" is not a destination/],
  [
    { CENSUS_DB_CIDR: '203.0.113.7/32' },
    /^CENSUS_DB_CIDR applies to a PostgreSQL database: set CENSUS_DESTINATION=postgres too$/,
  ],
  [
    { CENSUS_DESTINATION: 'sqlite', CENSUS_DB_CA_BUNDLE: 'ca.pem' },
    /^CENSUS_DB_CA_BUNDLE applies to a PostgreSQL database/,
  ],
  [
    { ...POSTGRES, CENSUS_DB_CIDR: '0.0.0.0/0' },
    /^CENSUS_DB_CIDR: "0.0.0.0\/0" opens the database to the whole internet; give your own address/,
  ],
  [
    { ...POSTGRES, CENSUS_DB_CIDR: '198.51.100.0/23' },
    /^CENSUS_DB_CIDR: "198.51.100.0\/23" admits 512 addresses to the database; .* \(a \/24 at most\)$/,
  ],
  [
    { ...POSTGRES, CENSUS_DB_CIDR: '203.0.113.7/24' },
    /^CENSUS_DB_CIDR: "203.0.113.7\/24" is not a network address: 203.0.113.0\/24, or 203.0.113.7\/32 for/,
  ],
  [{ ...POSTGRES, CENSUS_DB_CIDR: '203.0.113.7' }, /^CENSUS_DB_CIDR: "203.0.113.7" is not an IPv4 CIDR/],
  [
    { ...POSTGRES, CENSUS_DB_CA_BUNDLE: 'no/such/ca.pem' },
    /^CENSUS_DB_CA_BUNDLE: "no\/such\/ca.pem" cannot be read \(ENOENT\)$/,
  ],
  [
    { ...POSTGRES, CENSUS_DB_CA_BUNDLE: 'package.json' },
    /^CENSUS_DB_CA_BUNDLE: "package.json" holds no PEM certificate/,
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
  const app = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, CDKTF_OUTDIR: '/nonexistent' },
      encoding: 'utf8',
    });
  const r = app({ CENSUS_EVERY_SECONDS: '7' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^census-etl infra: CENSUS_EVERY_SECONDS: "7" must be one of/);
  const destination = app({ CENSUS_DESTINATION: 'mysql' });
  assert.equal(destination.status, 2);
  assert.match(destination.stderr, /^census-etl infra: CENSUS_DESTINATION: "mysql" is not a destination/);
});

test('a schedule that cannot finish within the time limit is refused, with the arithmetic', () => {
  const lines = 48_845;
  const limit = (batchSize: number, everySeconds: number, timeLimitMinutes: number) =>
    scheduleProblem(lines, { batchSize, everySeconds, timeLimitMinutes, postgres: null });
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

test('CENSUS_DESTINATION=postgres: the vendored RDS bundle, pinned; the instance only, or a /24', () => {
  assert.equal(readConfig({ CENSUS_DESTINATION: 'sqlite' }).postgres, null);
  const rds = { file: RDS_CA_BUNDLE.file, sha256: RDS_CA_BUNDLE.sha256, certificates: 102 };
  assert.deepEqual(readConfig(POSTGRES).postgres, { caBundle: rds, clientCidr: null });
  for (const cidr of ['203.0.113.7/32', '198.51.100.0/24', '198.51.100.128/25']) {
    assert.equal(readConfig({ ...POSTGRES, CENSUS_DB_CIDR: cidr }).postgres?.clientCidr, cidr);
  }
  const own = readConfig({ ...POSTGRES, CENSUS_DB_CA_BUNDLE: 'infra/rds/global-bundle.pem' });
  assert.deepEqual(own.postgres?.caBundle, rds, 'relative to the project folder');
});

test('the CA bundle: PEM CA certificates only; the vendored one must be byte for byte the pinned one', () => {
  const dir = tempDir();
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const bundle = readFileSync(RDS_CA_BUNDLE.file, 'utf8');
  const [first] = bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)!;
  assert.equal(readCaBundle(file('one.pem', `${first}\n`)).certificates, 1);
  const broken = first.replace(/[A-Za-z0-9+/]{20}\n/, 'not base64 at all!!\n');
  assert.throws(() => readCaBundle(file('broken.pem', broken)), /^Error: certificate 1 does not parse/);
  const changed = file('changed.pem', bundle.replace(first, ''));
  assert.equal(readCaBundle(changed).certificates, 101);
  assert.throws(
    () => rdsCaBundle(changed),
    /has SHA-256 \w{64}, not the pinned 05c6b4a9\w+ of https:\/\/truststore\.pki\.rds\.amazonaws\.com\//,
  );
});

test('a PostgreSQL run also budgets the wait for its database: every connect attempt timing out', () => {
  // 6 attempts of 30 s, and 1 + 2 + 4 + 8 + 16 s between them.
  assert.equal(connectWaitSeconds(DEFAULTS.retry), 211);
  assert.equal(DATABASE_WAIT_MINUTES, 4);
  const postgres = readConfig(POSTGRES).postgres;
  const at = (timeLimitMinutes: number) =>
    scheduleProblem(48_845, { batchSize: 1630, everySeconds: 10, timeLimitMinutes, postgres });
  assert.equal(at(14), null, '5 min of loading, 5 to boot and publish, 4 for the database');
  assert.equal(
    at(13),
    'CENSUS_BATCH_SIZE=1630 and CENSUS_EVERY_SECONDS=10 need ceil(48845 lines / 1630) = ' +
      '30 batches × 10 s = ' +
      '5 min, plus 5 min to boot and publish and 4 min for the database to accept connections: 14 min, ' +
      'more than CENSUS_TIME_LIMIT_MINUTES=13. ' +
      'Raise the batch size or the limit (up to 720), or shorten the interval.',
  );
});
