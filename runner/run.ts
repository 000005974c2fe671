/**
 * The run's record under its own prefix of the results location (see results.ts): run.json
 * and the log, written when the run starts, every PROGRESS_EVERY_SECONDS at most while it
 * loads, and when it ends, however it ends. Readers (`npm run sync`, `npm run logs`) follow a
 * run through it, without SSH.
 */
import { readFile } from 'node:fs/promises';
import type { Log } from './shared/log.ts';
import { redact } from './shared/redact.ts';
import { putVerified, type Artifact } from './publish/publish.ts';
import {
  PROGRESS_EVERY_SECONDS,
  RESULT_NAMES,
  runPrefix,
  type RunDocument,
  type RunProgress,
  type RunState,
} from './publish/results.ts';
import { explain, withRetry, type RetryPolicy } from './shared/retry.ts';
import { getObjectBytes, isPresent, putObjectBytes } from './shared/s3.ts';
import type { RunIdentity, Status } from './store/store.ts';
import { parseS3Uri, s3Uri } from './shared/uri.ts';

/** A progress upload is abandoned after this long; the next interval tries again. */
const PROGRESS_TIMEOUT_MS = 10_000;
/** How long a failed or stopped run spends recording that in S3, at most. */
export const END_REPORT_TIMEOUT_MS = 5_000;

export const progressOf = (s: Status): RunProgress | null =>
  s.sources.length === 0 ? null : { batches: s.batches.count, ...s.totals };

export type RunRecordOptions = {
  /** The results location, s3://bucket/prefix/. */
  results: string;
  run: RunIdentity;
  logFile: string;
  retry: RetryPolicy;
  log: Log;
  /** The run's progress now (null before its sources are known). */
  progress: () => Promise<RunProgress | null>;
  /** Seconds between progress uploads at least (tests shorten it). */
  everySeconds?: number;
};

/** Another run's record holds this run's id: two runs of one release began in the same second. */
export class RunIdTaken extends Error {}

export class RunRecord {
  /** s3://bucket/prefix/<run>/: everything this run writes, but latest.json. */
  readonly prefixUri: string;
  private readonly everyMs: number;
  private lastProgress = -Infinity;
  private inFlight: Promise<void> | null = null;
  /** Cancels a progress upload still under way when the run ends. */
  private readonly cancel = new AbortController();
  private ended: RunState | null = null;

  /** The run it records. */
  get run(): RunIdentity {
    return this.o.run;
  }

  constructor(private readonly o: RunRecordOptions) {
    const { bucket, key } = parseS3Uri(o.results);
    this.prefixUri = s3Uri({ bucket, key: runPrefix(key, o.run.id) });
    this.everyMs = (o.everySeconds ?? PROGRESS_EVERY_SECONDS) * 1000;
  }

  private where(name: string) {
    const { bucket, key } = parseS3Uri(this.prefixUri);
    return { bucket, key: key + name };
  }

  private async runJson(state: RunState, why: string | null): Promise<Artifact> {
    const doc: RunDocument = {
      run: this.o.run.id,
      release: this.o.run.release,
      state,
      why: why === null ? null : redact(why),
      startedAt: this.o.run.startedAt,
      updatedAt: new Date().toISOString(),
      progress: await this.o.progress().catch(() => null),
    };
    const bytes = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
    return { name: RESULT_NAMES.run, bytes, contentType: 'application/json' };
  }

  private async artifacts(state: RunState, why: string | null): Promise<Artifact[]> {
    // The log first: a reader that sees the state has the log that goes with it.
    const log = { name: RESULT_NAMES.log, bytes: await readFile(this.o.logFile) };
    return [{ ...log, contentType: 'text/plain; charset=utf-8' }, await this.runJson(state, why)];
  }

  /**
   * Makes the run's prefix its own before anything is written there: run.json is created only
   * if there is none (a conditional write). One that is there is this run's (the same start, to
   * the millisecond: an attempt that got through, or a resumed run), or another run's, which
   * is left as it is: RunIdTaken.
   */
  async claim(): Promise<void> {
    const runJson = await this.runJson('running', null);
    const at = this.where(runJson.name);
    const { retry, log } = this.o;
    const bounded = { timeoutSeconds: retry.timeoutSeconds };
    const what = `upload of ${s3Uri(at)}`;
    try {
      const create = { ...bounded, ifAbsent: true };
      await withRetry(what, retry, log, () => putObjectBytes(at, runJson.bytes, runJson.contentType, create));
    } catch (e) {
      if (!isPresent((e as Error).cause)) throw e;
      const there = await withRetry(what, retry, log, () => getObjectBytes(at, bounded));
      const { startedAt } = JSON.parse(there.toString('utf8')) as Partial<RunDocument>;
      if (startedAt !== this.o.run.startedAt) {
        throw new RunIdTaken(
          `run ${this.o.run.id} is another run's at ${this.prefixUri} (started ${startedAt}, ` +
            `this one ${this.o.run.startedAt})`,
        );
      }
    }
  }

  private async put(artifacts: Artifact[], signal: AbortSignal) {
    const bounded = { signal, timeoutSeconds: this.o.retry.timeoutSeconds };
    for (const a of artifacts) await putObjectBytes(this.where(a.name), a.bytes, a.contentType, bounded);
  }

  /**
   * run.json "running" and the log, verified like every published object: a results
   * location that cannot be written fails the run here, before it loads anything.
   */
  async start(): Promise<void> {
    for (const a of await this.artifacts('running', null))
      await putVerified(this.where(a.name), a, this.o.retry, this.o.log);
    this.lastProgress = performance.now();
    this.o.log(
      `run recorded at ${this.prefixUri}${RESULT_NAMES.run}; progress every ${this.everyMs / 1000}s at most`,
    );
  }

  /**
   * After a batch: when the interval has passed and no upload is under way, uploads the log
   * and run.json in the background, bounded by a timeout. Never awaited by the batch, so the
   * schedule never waits for S3; a failure is logged and the next interval tries again.
   */
  afterBatch(): void {
    if (this.ended || this.inFlight || performance.now() - this.lastProgress < this.everyMs) return;
    this.lastProgress = performance.now();
    const signal = AbortSignal.any([AbortSignal.timeout(PROGRESS_TIMEOUT_MS), this.cancel.signal]);
    this.inFlight = this.artifacts('running', null)
      .then((a) => this.put(a, signal))
      .catch((e: Error) => {
        if (!this.ended)
          this.o.log(
            `progress upload to ${this.prefixUri} failed (${explain(e)}); ` +
              `next try in ${this.everyMs / 1000}s`,
          );
      })
      .finally(() => (this.inFlight = null));
  }

  /** run.json "complete": part of publishing, verified, retried like the other objects. */
  async complete(): Promise<void> {
    await this.inFlight;
    if (this.ended)
      throw new Error(`the run was recorded as ${this.ended} before it could be recorded complete`);
    this.ended = 'complete';
    const runJson = await this.runJson('complete', null);
    await putVerified(this.where(runJson.name), runJson, this.o.retry, this.o.log);
  }

  /**
   * A failed or stopped run: the log and run.json saying why, best effort, within
   * END_REPORT_TIMEOUT_MS. Never throws: the run is ending for another reason already.
   */
  async end(state: 'failed' | 'stopped', why: string): Promise<void> {
    if (this.ended) return;
    this.ended = state;
    this.cancel.abort();
    await this.inFlight;
    try {
      await this.put(await this.artifacts(state, why), AbortSignal.timeout(END_REPORT_TIMEOUT_MS));
    } catch (e) {
      this.o.log(`could not record the run as ${state} at ${this.prefixUri}: ${explain(e as Error)}`);
    }
  }
}
