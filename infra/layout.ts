/**
 * Where things live: S3 keys of the bucket and paths on the instance. The stack, the IAM
 * policy, the user-data, the twin and `npm run sync` all read them from here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder: cdktf, sync and logs run here; relative settings start here. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const STACK_NAME = 'census-etl';

/** Raw zone, a folder per dataset, partitioned by ingestion date: `partition` is YYYY/MM/DD. */
export const rawKey = (folder: string, partition: string, file: string) =>
  `raw/${folder}/${partition}/${file}`;

/** One folder per release (bundle, addon, params), so a change gets new keys and a new instance. */
export const releasePrefix = (release: string) => `runner/${release}/`;
/**
 * The files of a release, the one list the build, the uploads, the instance role's read keys
 * and the user-data's fetches all follow: the runner bundle, the parser threads' own file,
 * better-sqlite3's prebuilt addon for the instance's architecture (the bundle loads it from
 * its own folder), the parameters; with a PostgreSQL database, the CA bundle the loader checks
 * its certificate against.
 */
export const RELEASE_FILES = {
  bundle: 'cli.mjs',
  parser: 'parser.mjs',
  addon: 'better_sqlite3.node',
  params: 'params.json',
  databaseCa: 'database-ca.pem',
} as const;
export type ReleaseFile = keyof typeof RELEASE_FILES;
/** The release files the build makes (params are written by the stack, the CA bundle vendored). */
export type BuiltFile = Exclude<ReleaseFile, 'params' | 'databaseCa'>;

/** The files of a release with (or without) a PostgreSQL database, in the order they are fetched. */
export const releaseFiles = (postgres: boolean): ReleaseFile[] =>
  (Object.keys(RELEASE_FILES) as ReleaseFile[]).filter((f) => postgres || f !== 'databaseCa');

/** The results location's key prefix: every run's prefix, and latest.json, are under it. */
export const RESULTS_PREFIX = 'results/';

/** On the instance. */
export const INSTANCE = {
  home: '/opt/census-etl',
  logDir: '/var/log/census-etl',
  log: '/var/log/census-etl/census-etl.log',
  database: '/opt/census-etl/data/census.db',
  /** PostgreSQL only: PGPASSWORD for the loader, root's alone, on tmpfs (gone at power-off). */
  databaseEnv: '/run/census-etl/database.env',
  unitDir: '/etc/systemd/system',
  service: 'census-etl.service',
  sshUser: 'ec2-user',
} as const;
