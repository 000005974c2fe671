/**
 * What every job runs inside: its log, the store (opened and closed), the run's identity and
 * its record in S3, and how the job ends when it does not succeed (stopped, failed: said on
 * stderr, in the log and in run.json, once).
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLog, type RunLog } from './shared/log.ts';
import type { Params } from './params.ts';
import { UsageError } from './shared/errors.ts';
import type { Dataset } from './dataset/model.ts';
import { isPostgresUrl, openStore, type RunIdentity, type Store } from './store/store.ts';
import { RunIdTaken, RunRecord, progressOf, type RunRecordOptions } from './run.ts';
import { redactUri } from './shared/uri.ts';
import type { RunOutcome } from './steps.ts';

/** Seconds a new run tries, one after another, for an id no other run holds. */
const MAX_RUN_ID_TRIES = 30;

/** A run that failed and has said so (stderr, the log, run.json): exit 1, nothing more to print. */
export class RunFailed extends Error {}

export function describeParams(p: Params): string {
  const files = p.sources?.map(
    (s) => `${redactUri(s.uri)}${s.sha256 ? ` (sha256 ${s.sha256.slice(0, 12)}…)` : ''}`,
  );
  return [
    `dataset: ${p.dataset ? redactUri(p.dataset) : 'adult (built in)'}`,
    ...(files ? [`sources: ${files.join(', ')}`] : []),
    ...(p.dataDir ? [`data dir: ${p.dataDir}`] : []),
    `database: ${redactUri(p.database)}`,
    `batch size: ${p.batchSize}`,
    p.unthrottled ? 'schedule: unthrottled' : `schedule: every ${p.everySeconds}s`,
    `log: ${p.log}`,
    `results: ${p.results ?? 'none (local run)'}`,
    `release: ${p.release}`,
  ].join('; ');
}

export type RunOptions = {
  /** The run id the instance gives (`--run-id`); by default the database's own, or a new one. */
  runId?: string;
  /** Aborted with a StoppedError on SIGTERM/SIGINT: no batch starts after it. */
  stop?: AbortSignal;
  log?: RunLog;
  /** Seconds between progress uploads at least (tests shorten it; see results.ts). */
  progressEverySeconds?: number;
};

export type Session = {
  params: Params;
  store: Store;
  run: RunIdentity;
  record: RunRecord | null;
  log: RunLog;
  stop?: AbortSignal;
  started: number;
  /** This run's results are published already: nothing is left to do. */
  alreadyPublished: boolean;
};

/**
 * Runs `body` in a session of `command`. `dataset` gives the dataset a new database is made
 * for (null: the database's own); `release` is the release a new run belongs to.
 */
export async function session(
  command: 'run' | 'publish',
  params: Params,
  o: RunOptions,
  what: {
    dataset: ((log: RunLog) => Promise<Dataset>) | null;
    release?: string;
    /** Checked on the opened store before the run is claimed or recorded anywhere. */
    precheck?: (store: Store) => Promise<void>;
  },
  body: (s: Session) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  if (command === 'publish' && !isPostgresUrl(params.database) && !existsSync(params.database)) {
    throw new UsageError(`no database at ${params.database}`);
  }
  const log = o.log ?? createLog(params.log);
  const started = performance.now();
  let record: RunRecord | null = null;
  let ending: Promise<void> = Promise.resolve();
  // A stop is recorded at once, whatever the job is doing; the job then ends at its next step.
  const onStop = () => {
    const why = (o.stop!.reason as Error).message;
    log.error(`${why}; every committed batch is kept, run again to resume`);
    ending = record?.end('stopped', why) ?? ending;
  };
  o.stop?.addEventListener('abort', onStop, { once: true });

  /** How the job ends when it does not succeed; the store is still open for run.json's progress. */
  const fail = async (e: unknown): Promise<never> => {
    if (o.stop?.aborted) {
      await ending;
      throw o.stop.reason;
    }
    if (e instanceof UsageError) throw e;
    const message = (e as Error).message;
    log.error(`error: ${message}`);
    await record?.end('failed', message);
    throw new RunFailed(message);
  };

  log(`census-etl ${command} starting; ${describeParams(params)}`);
  let store: Store;
  try {
    const dataset = what.dataset ? await what.dataset(log) : null;
    store = await openStore(params.database, { dataset });
  } catch (e) {
    o.stop?.removeEventListener('abort', onStop);
    return await fail(e);
  }
  try {
    await what.precheck?.(store);
    let run = await store.claimRun({ id: o.runId, release: what.release });
    log(`run ${run.id} (release ${run.release})${run.resumed ? ', resumed' : ''}`);
    if (params.results) {
      const options = {
        results: params.results,
        logFile: params.log,
        retry: params.retry,
        log,
        progress: async () => progressOf(await store.status()),
        everySeconds: o.progressEverySeconds,
      };
      record = await recordRun(store, run, options, o.runId !== undefined);
      run = record.run;
    }
    o.stop?.throwIfAborted();
    const before = await store.status();
    const alreadyPublished = record !== null && before.run.publishedTo === record.prefixUri;
    if (alreadyPublished) {
      log(`already published to ${record!.prefixUri} at ${before.run.publishedAt}; nothing to do`);
    } else {
      await record?.start();
    }
    return await body({ params, store, run, record, log, stop: o.stop, started, alreadyPublished });
  } catch (e) {
    return await fail(e);
  } finally {
    o.stop?.removeEventListener('abort', onStop);
    await store.close();
  }
}

/**
 * The run's record, its prefix claimed. Ids have a resolution of a second: a run that began
 * in the same second as another of its release takes the next free second, unless its id was
 * given (`fixedId`). Throws, having written nothing under another run's prefix, when none is free.
 */
async function recordRun(
  store: Store,
  run: RunIdentity,
  options: Omit<RunRecordOptions, 'run'>,
  fixedId: boolean,
): Promise<RunRecord> {
  for (let tries = 1; ; tries++) {
    const record = new RunRecord({ ...options, run });
    try {
      await record.claim();
      return record;
    } catch (e) {
      if (!(e instanceof RunIdTaken) || fixedId || tries === MAX_RUN_ID_TRIES) throw e;
      options.log(`${e.message}: this run takes the id of a later second`);
      await sleep(1000 - (Date.now() % 1000));
      run = await store.renewRun(run);
      options.log(`run ${run.id} (release ${run.release})`);
    }
  }
}
