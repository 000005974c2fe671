/**
 * Where things live: S3 keys of the bucket and paths on the instance. The stack, the IAM
 * policy, the user-data, the twin and `npm run sync` all read them from here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_NAMES } from '../runner/results.ts';

/** The project folder: cdktf, sync and logs run here; relative settings start here. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The real dataset on a development machine: CENSUS_DATA_DIR, else ../shared/data/adult. */
export const DEV_DATA_DIR = path.resolve(ROOT, process.env.CENSUS_DATA_DIR ?? '../shared/data/adult');

export const STACK_NAME = 'census-etl';

/** Raw zone, partitioned by ingestion date (YYYY-MM-DD). */
export const rawKey = (ingestionDate: string, file: string) => `raw/census/adult/${ingestionDate.replaceAll('-', '/')}/${file}`;

/** One folder per release (bundle + params), so a change gets new keys and a new instance. */
export const releasePrefix = (release: string) => `runner/${release}/`;
export const RELEASE_FILES = {
  bundle: 'cli.mjs',
  parser: 'parser.mjs',
  manifest: 'package.json',
  params: 'params.json',
} as const;

export const RESULTS_PREFIX = 'results/';
export const resultKeys = () => Object.values(RESULT_NAMES).map((name) => RESULTS_PREFIX + name);

/** On the instance. */
export const INSTANCE = {
  home: '/opt/census-etl',
  logDir: '/var/log/census-etl',
  log: '/var/log/census-etl/census-etl.log',
  database: '/opt/census-etl/data/census.db',
  unitDir: '/etc/systemd/system',
  service: 'census-etl.service',
  sshUser: 'ec2-user',
} as const;
