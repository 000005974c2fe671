/**
 * The job: stage → load → publish, each stage a function of its own module with explicit
 * inputs and a typed result (StageInfo, LoadInfo, PublishInfo). This file only puts them in
 * order, around the run's identity, its record in S3 and how it ends.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLog, formatDuration, type RunLog } from './shared/log.ts';
import { type Params } from './params.ts';
import { UsageError } from './shared/errors.ts';
import { publishRun, writeJson, type PublishInfo } from './publish/publish.ts';
import { RESULT_NAMES } from './publish/results.ts';
import { loadSources, type LoadInfo } from './load/schedule.ts';
import { stageSources, type StageInfo } from './extract/sources.ts';
import {
  claimRun,
  markFinished,
  markPublished,
  openStore,
  readStatus,
  registerSources,
  renewRun,
  type DB,
  type RunIdentity,
  type Status,
} from './store/store.ts';
import { RunIdTaken, RunRecord, progressOf, type RunRecordOptions } from './run.ts';
import { redactUri } from './shared/uri.ts';

/** Seconds a new run tries, one after another, for an id no other run holds. */
const MAX_RUN_ID_TRIES = 30;

/** A run that failed and has said so (stderr, the log, run.json): exit 1, nothing more to print. */
export class RunFailed extends Error {}

export function describeParams(p: Params): string {
  const sources = p.sources.map(
    (s) => `${redactUri(s.uri)}${s.sha256 ? ` (sha256 ${s.sha256.slice(0, 12)}…)` : ''}`,
  );
  return [
    `sources: ${sources.join(', ')}`,
    `database: ${p.database}`,
    `batch size: ${p.batchSize}`,
    p.unthrottled ? 'schedule: unthrottled' : `schedule: every ${p.everySeconds}s`,
    `log: ${p.log}`,
    `results: ${p.results ?? 'none (local run)'}`,
    `release: ${p.release}`,
  ].join('; ');
}

function describeTotals(s: Status): string {
  const per = s.sources.map(
    (x) =>
      `${x.name}: ${x.loaded} loaded, ${x.quarantined} quarantined, ${x.skipped} skipped of ${x.lines} lines`,
  );
  const t = s.totals;
  return (
    `${t.loaded} loaded, ${t.quarantined} quarantined, ${t.skipped} skipped = ` +
    `${t.linesRead} of ${t.lines} lines in ${s.batches.count} batches (${per.join('; ')})`
  );
}

/** Downloads are staged next to the database, in a folder no other database shares. */
export const stagingDir = (database: string) => `${database}.sources`;

export type RunOptions = {
  /** The run id the instance gives (`--run-id`); by default the database's own, or a new one. */
  runId?: string;
  /** Aborted with a StoppedError on SIGTERM/SIGINT: no batch starts after it. */
  stop?: AbortSignal;
  log?: RunLog;
  /** Seconds between progress uploads at least (tests shorten it; see results.ts). */
  progressEverySeconds?: number;
};

export type RunOutcome = {
  run: RunIdentity;
  status: Status;
  summaryFile: string;
  stage: StageInfo | null;
  load: LoadInfo | null;
  published: PublishInfo | null;
};

type Command = 'run' | 'publish';

/** Stage the sources, load them on the schedule, publish: `census-etl run`. */
export const runJob = (params: Params, o: RunOptions = {}) => job('run', params, o);

/** Publish a complete database, without its sources: `census-etl publish`. */
export const publishJob = (params: Params, o: RunOptions = {}) => job('publish', params, o);

async function job(command: Command, params: Params, o: RunOptions): Promise<RunOutcome> {
  if (command === 'publish') {
    if (!params.results) {
      const how = '--results s3://bucket/prefix/ (or "results" in the parameters)';
      throw new UsageError(`publish needs a results location: ${how}`);
    }
    if (!existsSync(params.database)) throw new UsageError(`no database at ${params.database}`);
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

  /** How the job ends when it does not succeed; the database is still open for run.json's progress. */
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
  let store: ReturnType<typeof openStore>;
  try {
    store = openStore(params.database);
  } catch (e) {
    o.stop?.removeEventListener('abort', onStop);
    return await fail(e);
  }
  const { db } = store;
  try {
    if (command === 'publish' && !readStatus(db).complete) {
      throw new UsageError(
        `database ${params.database} is not complete: census-etl run loads the rest, then publishes`,
      );
    }
    let run = claimRun(db, { id: o.runId, release: command === 'run' ? params.release : undefined });
    log(`run ${run.id} (release ${run.release})${run.resumed ? ', resumed' : ''}`);
    if (params.results) {
      const options = {
        results: params.results,
        logFile: params.log,
        retry: params.retry,
        log,
        progress: () => progressOf(readStatus(db)),
        everySeconds: o.progressEverySeconds,
      };
      record = await recordRun(db, run, options, o.runId !== undefined);
      run = record.run;
    }
    o.stop?.throwIfAborted();
    return await stages(db, { command, params, run, record, log, stop: o.stop, started });
  } catch (e) {
    return await fail(e);
  } finally {
    o.stop?.removeEventListener('abort', onStop);
    store.close();
  }
}

/**
 * The run's record, its prefix claimed. Ids have a resolution of a second: a run that began
 * in the same second as another of its release takes the next free second, unless its id was
 * given (`fixedId`). Throws, having written nothing under another run's prefix, when none is free.
 */
async function recordRun(
  db: DB,
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
      run = renewRun(db, run);
      options.log(`run ${run.id} (release ${run.release})`);
    }
  }
}

type Context = {
  command: Command;
  params: Params;
  run: RunIdentity;
  record: RunRecord | null;
  log: RunLog;
  stop?: AbortSignal;
  started: number;
};

async function stages(
  db: DB,
  { command, params, run, record, log, stop, started }: Context,
): Promise<RunOutcome> {
  const summaryFile = path.join(path.dirname(params.database), RESULT_NAMES.summary);
  const before = readStatus(db);
  if (record && before.run.publishedTo === record.prefixUri) {
    log(`already published to ${record.prefixUri} at ${before.run.publishedAt}; nothing to do`);
    return { run, status: before, summaryFile, stage: null, load: null, published: null };
  }
  await record?.start();

  let stage: StageInfo | null = null;
  let load: LoadInfo | null = null;
  if (!before.complete) {
    stage = await stageSources(params.sources, stagingDir(params.database), params.retry, log, stop);
    for (const s of stage.sources)
      log(`source ${s.name}: ${s.lines} lines, ${s.bytes} bytes, sha256 ${s.sha256}`);
    registerSources(db, stage.sources);
    load = await loadSources(db, stage.sources, {
      ...params,
      log,
      afterBatch: () => record?.afterBatch(),
      stop,
    });
  } else if (command === 'run') {
    log(`the database holds every line of its sources: nothing to load, the sources are not read again`);
  }
  markFinished(db);
  const status = readStatus(db);
  log(`done: ${describeTotals(status)}; ${formatDuration(performance.now() - started)} this run`);

  const { run: times, ...counts } = status;
  const { sources: _, ...settings } = params;
  const summary = {
    run: run.id,
    release: run.release,
    startedAt: times.startedAt,
    finishedAt: times.finishedAt,
    ...counts,
    load,
    params: settings,
  };
  if (!record || !params.results) {
    await writeJson(summaryFile, summary);
    log(`summary written to ${summaryFile}; no results location set, nothing to publish`);
    return { run, status, summaryFile, stage, load, published: null };
  }
  const published = await publishRun(db, {
    database: params.database,
    logFile: params.log,
    results: params.results,
    run,
    summary,
    summaryFile,
    record,
    retry: params.retry,
    log,
  });
  markPublished(db, published.to);
  log(`published to ${published.to}`);
  return { run, status: readStatus(db), summaryFile, stage, load, published };
}
