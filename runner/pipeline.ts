/**
 * The job: stage → load → publish, each stage a function of its own module with explicit
 * inputs and a typed result (steps.ts). `runJob` and `publishJob` put them in order inside a
 * session (session.ts: the log, the store, the run's identity and record, how it ends).
 */
import path from 'node:path';
import { formatDuration, type Log } from './shared/log.ts';
import { UsageError } from './shared/errors.ts';
import type { Params } from './params.ts';
import { loadDataset } from './dataset/dataset.ts';
import type { Dataset } from './dataset/model.ts';
import { publishRun, writeJson } from './publish/publish.ts';
import { RESULT_NAMES } from './publish/results.ts';
import { loadSources } from './load/schedule.ts';
import { stageSources } from './extract/sources.ts';
import { isPostgresUrl, localFolderOf, type Status, type Store } from './store/store.ts';
import { session, type Session, type RunOptions } from './session.ts';
import type { LoadInfo, RunOutcome, StageInfo } from './steps.ts';
import { redact } from './shared/redact.ts';

export { RunFailed, describeParams } from './session.ts';
export type { RunOptions } from './session.ts';

function describeTotals(s: Status): string {
  const per = s.sources.map(
    (x) =>
      `${x.name}: ${x.loaded} loaded, ${x.quarantined} quarantined, ${x.skipped} skipped ` +
      `of ${x.records} records`,
  );
  const t = s.totals;
  return (
    `${t.loaded} loaded, ${t.quarantined} quarantined, ${t.skipped} skipped = ` +
    `${t.recordsRead} of ${t.records} records in ${s.batches.count} batches (${per.join('; ')})`
  );
}

/** Downloads are staged next to a SQLite database, in a folder no other database shares. */
export const stagingDir = (database: string) =>
  isPostgresUrl(database) ? path.join(localFolderOf(database), 'sources') : `${database}.sources`;

/** Where the summary is written locally: the database's own folder (localFolderOf). */
const summaryFileOf = (p: Params) => path.join(localFolderOf(p.database), RESULT_NAMES.summary);

/** The run's dataset: its descriptor (or Adult's), its files replaced by `sources` if given. */
export async function datasetOf(params: Params, log: Log): Promise<Dataset> {
  const { dataset, origin, notes } = await loadDataset(params.dataset, params.dataDir ?? undefined);
  log(`dataset ${dataset.name} from ${origin}: ${dataset.tables.map((t) => t.name).join(', ')}`);
  for (const note of notes) log(`dataset: ${note}`);
  if (params.sources) {
    if (dataset.tables.length !== 1) {
      throw new UsageError(
        `sources: dataset ${dataset.name} has ${dataset.tables.length} tables; "sources" replaces the ` +
          'files of a one-table dataset only (name them in the descriptor instead)',
      );
    }
    dataset.tables[0].files = params.sources.map((s) => ({
      uri: s.uri,
      name: path.posix.basename(s.uri.replace(/[?#].*$/, '')),
      hash: s.sha256 ? `sha256:${s.sha256}` : null,
    }));
  }
  return dataset;
}

/** The end of a run or a publish: the summary, written, and published when there is a record. */
async function finish(
  s: Session,
  steps: { stage: StageInfo | null; load: LoadInfo | null },
): Promise<RunOutcome> {
  const { store, params, run, record, log } = s;
  await store.markFinished();
  const status = await store.status();
  log(`done: ${describeTotals(status)}; ${formatDuration(performance.now() - s.started)} this run`);
  const summaryFile = summaryFileOf(params);
  const { run: times, ...counts } = status;
  const summary = {
    run: run.id,
    release: run.release,
    startedAt: times.startedAt,
    finishedAt: times.finishedAt,
    dataset: store.dataset.name,
    database: { kind: store.kind, at: store.display },
    ...counts,
    tables: await store.checksums(),
    load: steps.load,
    params: { ...params, database: redact(params.database) },
  };
  if (!record || !params.results) {
    await writeJson(summaryFile, summary);
    log(`summary written to ${summaryFile}; no results location set, nothing to publish`);
    return { run, status, summaryFile, ...steps, published: null };
  }
  const published = await publishRun(store, {
    snapshotFile: `${summaryFile}.snapshot.db`,
    logFile: params.log,
    results: params.results,
    run,
    summary,
    summaryFile,
    record,
    retry: params.retry,
    log,
  });
  await store.markPublished(published.to);
  log(`published to ${published.to}`);
  if (store.kind === 'postgres') log(`the data stays in ${store.display}`);
  return { run, status: await store.status(), summaryFile, ...steps, published };
}

/** Stage the sources, load them on the schedule, publish: `census-etl run`. */
export function runJob(params: Params, o: RunOptions = {}): Promise<RunOutcome> {
  return session(
    'run',
    params,
    o,
    { dataset: (log) => datasetOf(params, log), release: params.release },
    async (s) => {
      const before = await s.store.status();
      if (s.alreadyPublished)
        return {
          run: s.run,
          status: before,
          summaryFile: summaryFileOf(params),
          stage: null,
          load: null,
          published: null,
        };
      if (before.complete) {
        s.log(
          'the database holds every record of its sources: nothing to load, the sources are not read again',
        );
        return finish(s, { stage: null, load: null });
      }
      const stage = await stageSources(s.store.dataset, stagingDir(params.database), {
        retry: params.retry,
        log: s.log,
        signal: s.stop,
        maxRecordBytes: params.maxRecordBytes,
      });
      for (const x of stage.sources) {
        s.log(
          `source ${x.name} (${x.resource}): ${x.records} records, ${x.lines} lines, ${x.bytes} bytes, ` +
            `sha256 ${x.sha256}`,
        );
      }
      await s.store.registerSources(stage.sources);
      const load = await loadSources(s.store, stage.sources, {
        ...params,
        log: s.log,
        afterBatch: () => s.record?.afterBatch(),
        stop: s.stop,
      });
      return finish(s, { stage, load });
    },
  );
}

/** Publish a complete database, without its sources: `census-etl publish`. */
export function publishJob(params: Params, o: RunOptions = {}): Promise<RunOutcome> {
  if (!params.results) {
    const how = '--results s3://bucket/prefix/ (or "results" in the parameters)';
    return Promise.reject(new UsageError(`publish needs a results location: ${how}`));
  }
  const precheck = async (store: Store) => {
    if (!(await store.status()).complete) {
      throw new UsageError(
        `database ${store.display} is not complete: census-etl run loads the rest, then publishes`,
      );
    }
  };
  return session('publish', params, o, { dataset: null, precheck }, async (s) => {
    const status = await s.store.status();
    if (s.alreadyPublished)
      return {
        run: s.run,
        status,
        summaryFile: summaryFileOf(params),
        stage: null,
        load: null,
        published: null,
      };
    return finish(s, { stage: null, load: null });
  });
}
