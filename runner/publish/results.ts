/**
 * What a run publishes and where: the contract between the runner (which writes it), the
 * instance's user-data (which records runs that die), `npm run sync` and `npm run logs`
 * (which read it). Pure, importing nothing heavy.
 *
 * Under a results location (s3://bucket/prefix/), every run has its own prefix, and nothing a
 * run writes touches another run's objects:
 *
 *   <prefix><run>/census.db       the database snapshot        (complete runs)
 *   <prefix><run>/census-etl.log  the log (also uploaded while the run goes on)
 *   <prefix><run>/summary.json    counts, reasons, timings, checksums of the two above
 *   <prefix><run>/run.json        the run's state: running, complete, failed or stopped
 *   <prefix>latest.json           names the latest *complete* run
 */
import { printable } from '../shared/redact.ts';
import { asPrefix } from '../shared/uri.ts';

/** Object names inside a run's prefix. */
export const RESULT_NAMES = {
  database: 'census.db',
  log: 'census-etl.log',
  summary: 'summary.json',
  run: 'run.json',
} as const;

/** Directly under the results prefix: the pointer to the latest complete run. */
export const LATEST_COMPLETE = 'latest.json';

/** A run that is not part of a deployed release (a laptop, a test). */
export const LOCAL_RELEASE = 'local';

/** Release ids: the stack's content hash, or LOCAL_RELEASE. */
export const RELEASE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A run id: the UTC time it started (so ids sort by time) and the release that ran. */
export const RUN_ID = /^\d{8}T\d{6}Z-[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Whether a value read back (from S3, from a command line) is a run id. Nothing else is ever
 * used as one: not in a key, and above all not in a local path ("../../x" sorts, and joins).
 */
export const isRunId = (value: unknown): value is string => typeof value === 'string' && RUN_ID.test(value);

/** A value read back, as a message quotes it: in quotes, cut short, its control characters made visible. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return printable(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** Why a value read from `where` is refused as a run id. */
export const notARunId = (where: string, value: unknown) =>
  `${where}: ${shown(value)} is not a run id (YYYYMMDDTHHMMSSZ-<release>)`;

export const runId = (startedAt: Date, release: string) =>
  `${startedAt.toISOString().replace(/[-:]|\.\d+/g, '')}-${release}`;

/** The key prefix of a run's objects, from the results prefix key ("results/" or ""). */
export const runPrefix = (resultsKey: string, run: string) => `${asPrefix(resultsKey)}${run}/`;

/**
 * How often a running loader uploads its log and run.json (a few PUTs a minute at most), and
 * so how far behind `npm run logs` follows.
 */
export const PROGRESS_EVERY_SECONDS = 20;

export const RUN_STATES = ['running', 'complete', 'failed', 'stopped'] as const;
export type RunState = (typeof RUN_STATES)[number];

export type RunProgress = {
  batches: number;
  linesRead: number;
  lines: number;
  percent: number;
  loaded: number;
  quarantined: number;
  skipped: number;
};

/** run.json: written by the runner while it runs and when it ends; by the user-data when the loader dies. */
export type RunDocument = {
  run: string;
  release: string;
  state: RunState;
  /** Why a run failed or was stopped, as a sentence; null otherwise. */
  why: string | null;
  startedAt: string;
  updatedAt: string;
  /** Null when whoever wrote the document could not know (the user-data after a crash). */
  progress: RunProgress | null;
};

/** latest.json: the newest run that completed and published. */
export type LatestComplete = { run: string; release: string; completedAt: string };
