/**
 * The stack's settings, read at synth time from environment variables (documented in
 * docs/aws.md and docs/aws-postgres.md) and validated; every error names the variable and says
 * what it wants.
 */
import path from 'node:path';
import { DEFAULTS, ParamsSchema } from '../runner/params.ts';
import type { RetryPolicy } from '../runner/shared/retry.ts';
import { architectureOf, isMacFamily, type Architecture } from './architecture.ts';
import { rdsCaBundle, readCaBundle, type CaBundle } from './cabundle.ts';
import type { Emulator } from './emulator.ts';
import { ROOT } from './layout.ts';
import { isRemoteUri } from '../runner/shared/uri.ts';

/** With CENSUS_DESTINATION=postgres: an RDS PostgreSQL the loader writes to. */
export type PostgresConfig = {
  /** The CA bundle the release ships, to verify the database's certificate: RDS's unless set. */
  caBundle: CaBundle;
  /** A CIDR (a /24 at most) that may reach the database from outside the VPC; null: the instance only. */
  clientCidr: string | null;
};

export type Config = {
  region: string;
  instanceType: string;
  /** Derived from the instance type; deploy cross-checks it with EC2 at plan time. */
  architecture: Architecture;
  /** An existing EC2 key pair and the CIDR allowed to reach port 22; both or neither. */
  ssh: { keyName: string; cidr: string } | null;
  /** The database: null is SQLite on the instance (CENSUS_DESTINATION=sqlite, the default). */
  postgres: PostgresConfig | null;
  /** The instance shuts down (and so stops) after this many minutes, whatever happens. */
  timeLimitMinutes: number;
  batchSize: number;
  everySeconds: number;
  /**
   * YYYY-MM-DD: the raw zone partition the dataset is uploaded to; null: the day of the first
   * deploy of this data, which Terraform resolves once and keeps (uploads.ts).
   */
  ingestionDate: string | null;
  /**
   * The dataset's descriptor (datapackage.json): a local path (absolute once read), https:// or
   * s3://; null: Adult.
   */
  dataset: string | null;
  /** Where deploy takes Adult.data/Adult.test from; null downloads them (checksums verified). */
  dataDir: string | null;
  /** A local AWS emulator (moto) to deploy to; null means real AWS. */
  emulator: Emulator | null;
  /**
   * Terraform's state (local backend), an absolute path: Terraform runs in
   * cdktf.out/stacks/<stack>/, so a relative one would land there, where `npm run sync` and
   * `npm run logs`, which read the outputs from it, would not look.
   */
  stateFile: string;
};

export class ConfigError extends Error {}

/** The variables; docs/aws.md or docs/aws-postgres.md says what each means (a docs test checks it). */
export const ENV = {
  region: 'CENSUS_REGION',
  instanceType: 'CENSUS_INSTANCE_TYPE',
  sshKeyName: 'CENSUS_SSH_KEY_NAME',
  sshCidr: 'CENSUS_SSH_CIDR',
  destination: 'CENSUS_DESTINATION',
  dbCidr: 'CENSUS_DB_CIDR',
  dbCaBundle: 'CENSUS_DB_CA_BUNDLE',
  timeLimitMinutes: 'CENSUS_TIME_LIMIT_MINUTES',
  batchSize: 'CENSUS_BATCH_SIZE',
  everySeconds: 'CENSUS_EVERY_SECONDS',
  ingestionDate: 'CENSUS_INGESTION_DATE',
  dataset: 'CENSUS_DATASET',
  dataDir: 'CENSUS_DATA_DIR',
  emulatorEndpoint: 'CENSUS_AWS_ENDPOINT',
  stateFile: 'CENSUS_STATE_FILE',
} as const;

export const DEFAULT_STATE_FILE = 'terraform.census-etl.tfstate';

export const DEFAULT_INSTANCE_TYPE = 't3.micro';
export const DEFAULT_TIME_LIMIT_MINUTES = 30;
const TIME_LIMIT_RANGE = [10, 720] as const;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** An IPv4 CIDR but /0, which would open `what` to the whole internet: its address and prefix. */
function cidr(name: string, value: string, what: string): { address: number; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new ConfigError(`${name}: "${value}" is not an IPv4 CIDR such as 203.0.113.7/32`);
  }
  if (Number(m[5]) === 0)
    throw new ConfigError(
      `${name}: "${value}" opens ${what} to the whole internet; give your own address, e.g. 203.0.113.7/32`,
    );
  const address = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  return { address, prefix: Number(m[5]) };
}

/**
 * The widest CIDR SSH is opened to: a /16 (65,536 addresses) still covers an office's range or
 * an ISP's pool of dynamic addresses; wider ranges, up to /1 (half the internet), open the port
 * to the scanners of the internet at large, as /0 does.
 */
const WIDEST_SSH_PREFIX = 16;

function sshNetwork(value: string): string {
  const { prefix } = cidr(ENV.sshCidr, value, 'SSH');
  if (prefix < WIDEST_SSH_PREFIX) {
    const reach = `${(2 ** (32 - prefix)).toLocaleString('en-US')} addresses (/${WIDEST_SSH_PREFIX} at most)`;
    throw new ConfigError(
      `${ENV.sshCidr}: "${value}" opens SSH to ${reach}; give your own address, e.g. 203.0.113.7/32`,
    );
  }
  return value;
}

/**
 * An existing EC2 key pair's name, as EC2 takes one: up to 255 ASCII characters (printable:
 * control characters have no place in a name), and never "${" or "%{", which Terraform would
 * evaluate as a template in key_name. Leading and trailing spaces, which EC2 refuses, are trimmed
 * with the variable.
 */
function keyPairName(name: string, value: string): string {
  const refuse = (why: string) => new ConfigError(`${name}: ${why}`);
  if (value.length > 255) throw refuse(`${value.length} characters; an EC2 key pair name has 255 at most`);
  const bad = /[^\x20-\x7e]/.exec(value);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw refuse(`character ${bad.index + 1} is U+${code}; an EC2 key pair name is printable ASCII`);
  }
  const template = /[$%]\{/.exec(value);
  if (template)
    throw refuse(
      `"${value}" holds "${template[0]}", which Terraform would evaluate as a template in key_name`,
    );
  return value;
}

/** The widest network that may reach the database from outside: 256 addresses. */
export const DB_CIDR_MIN_PREFIX = 24;

const dotted = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

/** CENSUS_DB_CIDR: a network of 256 addresses at most, written as its network address (as EC2 wants). */
function databaseCidr(value: string): string {
  const name = ENV.dbCidr;
  const { address, prefix } = cidr(name, value, 'the database');
  if (prefix < DB_CIDR_MIN_PREFIX) {
    throw new ConfigError(
      `${name}: "${value}" admits ${(2 ** (32 - prefix)).toLocaleString('en-US')} addresses ` +
        'to the database; ' +
        `give your own address, e.g. 203.0.113.7/32 (a /${DB_CIDR_MIN_PREFIX} at most)`,
    );
  }
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  if (network !== address) {
    throw new ConfigError(
      `${name}: "${value}" is not a network address: ${dotted(network)}/${prefix}, ` +
        `or ${dotted(address)}/32 for that address alone?`,
    );
  }
  return value;
}

/** CENSUS_DB_CA_BUNDLE, relative to the project folder; else the vendored RDS bundle, as pinned. */
function caBundle(value: string | undefined): CaBundle {
  try {
    return value ? readCaBundle(path.resolve(ROOT, value)) : rdsCaBundle();
  } catch (e) {
    const what = value
      ? `${ENV.dbCaBundle}: "${value}"`
      : 'the vendored RDS CA bundle infra/rds/global-bundle.pem';
    throw new ConfigError(`${what} ${(e as Error).message}`);
  }
}

function integer(name: string, value: string, check: (n: number) => string | null): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  const problem = Number.isNaN(n) ? 'is not a whole number' : check(n);
  if (problem) throw new ConfigError(`${name}: "${value}" ${problem}`);
  return n;
}

/** The runner's own rule for a parameter, so the stack never uploads params the runner rejects. */
function runnerRule(field: 'batchSize' | 'everySeconds') {
  return (n: number) => {
    const r = ParamsSchema.shape[field].safeParse(n);
    return r.success ? null : r.error.issues[0].message;
  };
}

/** CENSUS_DATASET as the loader's `dataset` parameter takes it; a local path from the project folder. */
function datasetLocation(value: string): string {
  const r = ParamsSchema.shape.dataset.safeParse(value);
  if (!r.success) throw new ConfigError(`${ENV.dataset}: ${r.error.issues[0].message}`);
  return isRemoteUri(value) ? value : path.resolve(ROOT, value);
}

function date(name: string, value: string): string {
  const m = DATE.exec(value);
  const d = m ? new Date(`${value}T00:00:00Z`) : null;
  if (!d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw new ConfigError(`${name}: "${value}" is not a date as YYYY-MM-DD`);
  }
  return value;
}

function endpoint(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: "${value}" is not a URL such as http://127.0.0.1:5000`);
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new ConfigError(`${name}: "${value}" must be a local emulator on loopback (127.0.0.1, localhost)`);
  }
  return url.origin;
}

/**
 * The time limit's budget besides loading: the instance's start and Node's install (about two
 * minutes on AWS), publishing, and the watchdog's margin before the limit.
 */
export const TIME_LIMIT = {
  /** The watchdog stops the loader this long before the limit: time to upload, record, power off. */
  watchdogMarginSeconds: 120,
  /** Minutes of a run that are not loading, all told (watchdog margin included). */
  otherMinutes: 5,
} as const;

const minutes = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/**
 * The longest the loader waits for the database to accept connections: its retry policy's every
 * attempt running out of time, and the delays between them (doubled after each).
 */
export function connectWaitSeconds(retry: RetryPolicy): number {
  const delays = Array.from({ length: retry.attempts - 1 }, (_, i) => retry.minDelaySeconds * 2 ** i);
  return retry.attempts * retry.timeoutSeconds + delays.reduce((a, b) => a + b, 0);
}

/** Minutes a PostgreSQL run may spend waiting for its database (the params' retry policy). */
export const DATABASE_WAIT_MINUTES = Math.ceil(connectWaitSeconds(DEFAULTS.retry) / 60);

/**
 * Why a schedule cannot finish within the time limit, naming the settings and the arithmetic
 * (the loader needs ceil(lines / batch size) ticks); null when it can.
 */
export function scheduleProblem(
  lines: number,
  c: Pick<Config, 'batchSize' | 'everySeconds' | 'timeLimitMinutes' | 'postgres'>,
): string | null {
  const batches = Math.ceil(lines / c.batchSize);
  const loading = (batches * c.everySeconds) / 60;
  const waiting = c.postgres ? DATABASE_WAIT_MINUTES : 0;
  const needed = loading + TIME_LIMIT.otherMinutes + waiting;
  if (needed <= c.timeLimitMinutes) return null;
  const database = waiting ? ` and ${waiting} min for the database to accept connections` : '';
  return (
    `${ENV.batchSize}=${c.batchSize} and ${ENV.everySeconds}=${c.everySeconds} need ` +
    `ceil(${lines} lines / ${c.batchSize}) = ${batches} batches × ${c.everySeconds} s = ` +
    `${minutes(loading)} min, plus ${TIME_LIMIT.otherMinutes} min to boot and publish${database}: ` +
    `${minutes(needed)} min, more than ${ENV.timeLimitMinutes}=${c.timeLimitMinutes}. ` +
    'Raise the batch size or the limit (up to 720), or shorten the interval.'
  );
}

/** The state file, resolved against the project folder (not Terraform's working folder). */
export const stateFile = (env: NodeJS.ProcessEnv = process.env, project = ROOT) =>
  path.resolve(project, (env[ENV.stateFile] ?? '').trim() || DEFAULT_STATE_FILE);

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const get = (name: string) => (env[name] ?? '').trim() || undefined;

  const region = get(ENV.region) ?? get('AWS_REGION') ?? get('AWS_DEFAULT_REGION') ?? 'us-east-1';
  if (!REGION.test(region))
    throw new ConfigError(`${ENV.region}: "${region}" is not an AWS region such as eu-west-1`);

  const instanceType = get(ENV.instanceType) ?? DEFAULT_INSTANCE_TYPE;
  if (!INSTANCE_TYPE.test(instanceType))
    throw new ConfigError(`${ENV.instanceType}: "${instanceType}" is not an instance type such as t3.micro`);
  if (isMacFamily(instanceType)) {
    throw new ConfigError(
      `${ENV.instanceType}: "${instanceType}" is a Mac instance, which runs macOS only; ` +
        'Amazon Linux 2023 needs another type, e.g. t3.micro or t4g.micro',
    );
  }

  const keyName = get(ENV.sshKeyName);
  const sshCidr = get(ENV.sshCidr);
  if (Boolean(keyName) !== Boolean(sshCidr)) {
    throw new ConfigError(
      `SSH needs both ${ENV.sshKeyName} (an existing EC2 key pair) and ${ENV.sshCidr} ` +
        '(your address, e.g. 203.0.113.7/32), or neither',
    );
  }
  const ssh =
    keyName && sshCidr ? { keyName: keyPairName(ENV.sshKeyName, keyName), cidr: sshNetwork(sshCidr) } : null;

  const destination = get(ENV.destination) ?? 'sqlite';
  if (destination !== 'sqlite' && destination !== 'postgres') {
    throw new ConfigError(
      `${ENV.destination}: "${destination}" is not a destination: sqlite (the default) or postgres`,
    );
  }
  const dbCidr = get(ENV.dbCidr);
  const dbCa = get(ENV.dbCaBundle);
  for (const [name, value] of [
    [ENV.dbCidr, dbCidr],
    [ENV.dbCaBundle, dbCa],
  ] as const) {
    if (value && destination !== 'postgres') {
      throw new ConfigError(`${name} applies to a PostgreSQL database: set ${ENV.destination}=postgres too`);
    }
  }
  const postgres =
    destination === 'postgres'
      ? { caBundle: caBundle(dbCa), clientCidr: dbCidr ? databaseCidr(dbCidr) : null }
      : null;

  const [min, max] = TIME_LIMIT_RANGE;
  const limit = get(ENV.timeLimitMinutes);
  const timeLimitMinutes = limit
    ? integer(ENV.timeLimitMinutes, limit, (n) =>
        n < min || n > max ? `must be between ${min} and ${max} minutes` : null,
      )
    : DEFAULT_TIME_LIMIT_MINUTES;

  const batch = get(ENV.batchSize);
  const every = get(ENV.everySeconds);
  const ingestion = get(ENV.ingestionDate);
  const local = get(ENV.emulatorEndpoint);
  const dataset = get(ENV.dataset);
  return {
    region,
    instanceType,
    architecture: architectureOf(instanceType),
    ssh,
    postgres,
    timeLimitMinutes,
    batchSize: batch ? integer(ENV.batchSize, batch, runnerRule('batchSize')) : DEFAULTS.batchSize,
    everySeconds: every
      ? integer(ENV.everySeconds, every, runnerRule('everySeconds'))
      : DEFAULTS.everySeconds,
    ingestionDate: ingestion ? date(ENV.ingestionDate, ingestion) : null,
    dataset: dataset ? datasetLocation(dataset) : null,
    dataDir: get(ENV.dataDir) ?? null,
    emulator: local ? { endpoint: endpoint(ENV.emulatorEndpoint, local) } : null,
    stateFile: stateFile(env),
  };
}
