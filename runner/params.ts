/**
 * Parameters: one JSON file (local path or s3:// URI), validated, then overridden by CLI
 * flags. Every error names the field at fault.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LOCAL_RELEASE, RELEASE_ID } from './publish/results.ts';
import { DEFAULT_RETRY, withRetry, type RetryError } from './shared/retry.ts';
import { UsageError } from './shared/errors.ts';
import { getObjectBytes } from './shared/s3.ts';
import { parseS3Uri } from './shared/uri.ts';
import { userInfoOf } from './shared/redact.ts';
import { localFolderOf } from './store/store.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a SHA-256)');
const location = z
  .string()
  .refine((u) => /^(s3:\/\/[^/]+\/.+|https:\/\/\S+|[^:]+)$/.test(u), {
    message: 'must be a local path, an s3://bucket/key or an https:// URL',
  })
  .refine((u) => userInfoOf(u) === null, {
    message: 'holds credentials (user:password@): give them another way (a pre-signed URL, or an S3 role)',
  });
const resultsUri = z
  .string()
  .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be s3://bucket/prefix/');
/** Ticks must fall at the same seconds of every minute, so the interval divides 60. */
const DIVISORS_OF_60 = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

export const ParamsSchema = z.strictObject({
  /** The dataset's descriptor (datapackage.json): a local path, s3:// or https://; null: Adult. */
  dataset: location.nullable(),
  /** The files of a one-table dataset, in place of those its descriptor names (null: those). */
  sources: z
    .array(z.strictObject({ uri: location, sha256: sha256.optional() }))
    .min(1)
    .nullable(),
  /** A folder holding the dataset's files under their own names, read as they are (no checksum). */
  dataDir: z.string().min(1).nullable(),
  /** A SQLite file, or a postgres:// URL (libpq's settings apply). */
  database: z.string().min(1),
  /** Log file; when neither the file nor a flag sets it, census-etl.log in the database's folder. */
  log: z.string().min(1),
  batchSize: z.number().int().positive(),
  everySeconds: z.number().refine((n) => DIVISORS_OF_60.includes(n), {
    message: `must be one of ${DIVISORS_OF_60.join(', ')} (seconds that divide a minute)`,
  }),
  unthrottled: z.boolean(),
  results: resultsUri.nullable(),
  /** The deployed release this run belongs to (its run ids end with it), or "local". */
  release: z.string().regex(RELEASE_ID, 'must be lowercase letters, digits and "-" (a release id)'),
  /**
   * Every S3 request and download: attempts, the first delay (doubled after each), and how
   * long an attempt may go without a byte (connecting, or waiting for data).
   */
  /** A source whose quarantined share passes this stops the run (its batch not committed). */
  maxQuarantinedShare: z.number().min(0).max(1),
  /** Bytes a record may take; a longer one is quarantined, its raw text cut. */
  maxRecordBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 << 20),
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(20),
    minDelaySeconds: z.number().positive().max(60),
    timeoutSeconds: z.number().positive().max(600).default(DEFAULT_RETRY.timeoutSeconds),
  }),
});
export type Params = z.infer<typeof ParamsSchema>;
export type Source = NonNullable<Params['sources']>[number];

/** What a deployed stack's parameters file sets besides its files and results; the rest are defaults. */
export type DeployedParams = Pick<
  Params,
  'database' | 'log' | 'batchSize' | 'everySeconds' | 'unthrottled' | 'retry'
>;

/** `npm start` with no arguments: the 1,630-every-10-seconds local run. */
export const DEFAULTS: Params = {
  dataset: null,
  sources: null,
  dataDir: null,
  database: 'out/census.db',
  log: 'out/census-etl.log',
  batchSize: 1630,
  everySeconds: 10,
  unthrottled: false,
  results: null,
  release: LOCAL_RELEASE,
  maxQuarantinedShare: 0.1,
  maxRecordBytes: 1 << 20,
  retry: DEFAULT_RETRY,
};

/** CLI flags; each replaces one field of the file. */
export type Overrides = Partial<
  Pick<
    Params,
    'dataset' | 'dataDir' | 'database' | 'log' | 'batchSize' | 'everySeconds' | 'unthrottled' | 'results'
  >
>;

function describe(error: z.ZodError, origin: string): string {
  const lines = error.issues.map((i) => {
    const field = i.path.length ? i.path.join('.') : '(top level)';
    return `  ${field}: ${i.message}`;
  });
  return `invalid parameters in ${origin}:\n${lines.join('\n')}`;
}

/** A parameters file is a few hundred bytes; anything past this is not one (and is not read). */
const MAX_PARAMS_BYTES = 1 << 20;

/**
 * A parameters file's text. From S3 it is retried (with the default policy: the file's own
 * is not known yet, each attempt said on stderr): a network failure is a runtime failure
 * (exit 1), a file that is not there or not readable is bad usage (exit 2).
 */
async function readParamsText(location: string): Promise<string> {
  const tooLarge = () =>
    new UsageError(
      `parameters file ${location} is larger than ${MAX_PARAMS_BYTES} bytes: not a parameters file`,
    );
  if (location.startsWith('s3://')) {
    const say = (line: string) => process.stderr.write(`census-etl: ${line}\n`);
    const read = () => getObjectBytes(parseS3Uri(location), { maxBytes: MAX_PARAMS_BYTES });
    let bytes: Buffer;
    try {
      bytes = await withRetry(`read of parameters file ${location}`, DEFAULT_RETRY, say, read);
    } catch (e) {
      if (!(e as RetryError).permanent) throw e;
      throw new UsageError(`cannot read parameters file: ${(e as Error).message}`);
    }
    if (bytes.length > MAX_PARAMS_BYTES) throw tooLarge();
    return bytes.toString('utf8');
  }
  try {
    if ((await stat(location)).size > MAX_PARAMS_BYTES) throw tooLarge();
    return await readFile(location, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read parameters file ${location}: ${(e as Error).message}`);
  }
}

/**
 * The effective parameters: defaults, then the file (if any), then the environment's
 * CENSUS_DATA_DIR, then CLI flags. A file may omit fields; it may not add unknown ones.
 */
export async function resolveParams(
  file: string | undefined,
  overrides: Overrides,
  env = process.env,
): Promise<Params> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    const text = await readParamsText(file);
    try {
      fromFile = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`parameters file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new UsageError(`parameters file ${file} must hold a JSON object`);
    }
  }
  // CENSUS_DATA_DIR stands in for where Adult's files are, unless the run names its own files
  // (null names none: Adult's, as the defaults say).
  const ownFiles = fromFile.sources != null || fromFile.dataset != null || overrides.dataset;
  const envDir = ownFiles ? undefined : env.CENSUS_DATA_DIR || undefined;
  const merged = {
    ...DEFAULTS,
    ...(envDir ? { dataDir: envDir } : {}),
    ...fromFile,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  // Runs on different databases never share a log (nor a summary, kept beside it).
  if (fromFile.log === undefined && overrides.log === undefined && typeof merged.database === 'string') {
    merged.log = path.join(localFolderOf(merged.database), 'census-etl.log');
  }
  const parsed = ParamsSchema.safeParse(merged);
  if (!parsed.success)
    throw new UsageError(describe(parsed.error, file ? `${file} (or its CLI overrides)` : 'CLI flags'));
  return parsed.data;
}
