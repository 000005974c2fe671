/**
 * The job: parameters in, then stage sources → load batches on the schedule → publish.
 * Each stage lives in its own module; this file only puts them in order and logs.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Loader, type BatchResult } from './load.ts';
import { createLog, formatDuration, type Log } from './log.ts';
import type { Params } from './params.ts';
import { artifactFrom, sha256, snapshot, upload, writeJson } from './publish.ts';
import { runScheduled, runUnthrottled, type Step } from './schedule.ts';
import { stageSources } from './sources.ts';
import { redactUri } from './uri.ts';
import { RESULT_NAMES } from './results.ts';
import { markFinished, markPublished, openStore, readStatus, registerSources, type Status } from './store.ts';

export function describeParams(p: Params): string {
  const sources = p.sources.map((s) => `${redactUri(s.uri)}${s.sha256 ? ` (sha256 ${s.sha256.slice(0, 12)}…)` : ''}`);
  return [
    `sources: ${sources.join(', ')}`,
    `database: ${p.database}`,
    `batch size: ${p.batchSize}`,
    p.unthrottled ? 'schedule: unthrottled' : `schedule: every ${p.everySeconds}s`,
    `log: ${p.log}`,
    `results: ${p.results ?? 'none (local run)'}`,
  ].join('; ');
}

function describeTotals(s: Status): string {
  const per = s.sources.map((x) => `${x.name}: ${x.loaded} loaded, ${x.quarantined} quarantined, ${x.skipped} skipped of ${x.lines} lines`);
  const t = s.totals;
  return `${t.loaded} loaded, ${t.quarantined} quarantined, ${t.skipped} skipped = ${t.linesRead} of ${t.lines} lines in ${s.batches.count} batches (${per.join('; ')})`;
}

export type RunOutcome = { status: Status; summaryFile: string; published: boolean };

export async function runJob(params: Params, log: Log = createLog(params.log)): Promise<RunOutcome> {
  const started = performance.now();
  log(`census-etl run starting; ${describeParams(params)}`);
  const outDir = path.dirname(params.database);
  const staged = await stageSources(params.sources, path.join(outDir, 'sources'), params.publishRetry, log);
  for (const s of staged) log(`source ${s.name}: ${s.lines} lines, ${s.bytes} bytes, sha256 ${s.sha256}`);

  const { db, release } = openStore(params.database);
  try {
    registerSources(db, staged);
    const before = readStatus(db);
    if (before.batches.count > 0) log(`resuming after batch ${before.batches.count}: ${before.totals.linesRead} of ${before.totals.lines} lines already accounted for`);

    if (!before.complete) {
      const loader = new Loader(db, staged, params.batchSize);
      let batches = before.batches.count;
      let loadMs = 0;
      const step: Step = async ({ scheduledAt, startedAt }) => {
        const expected = batches + Math.ceil((loader.linesTotal - loader.linesDone) / params.batchSize);
        const r: BatchResult = await loader.next();
        batches = r.batch;
        loadMs += r.ms;
        const left = Math.max(0, expected - r.batch);
        const eta = params.unthrottled ? (loadMs / (r.batch - before.batches.count)) * left : left * params.everySeconds * 1000;
        // How late the batch started after its wall-clock tick.
        const late = scheduledAt ? ` | tick +${startedAt.getTime() - scheduledAt.getTime()} ms` : '';
        log(
          `batch ${r.batch}/${r.done ? r.batch : Math.max(expected, r.batch + 1)}: ${r.loaded} loaded, ${r.quarantined} quarantined, ${r.skipped} skipped` +
            ` | ${((r.linesDone / loader.linesTotal) * 100).toFixed(1)}% | ETA ${formatDuration(eta)} | ${r.ms.toFixed(1)} ms${late}`,
        );
        return r.done;
      };
      try {
        if (params.unthrottled) await runUnthrottled(step);
        else await runScheduled(params.everySeconds, step, log);
      } finally {
        await loader.close();
      }
    }
    markFinished(db);

    const status = readStatus(db);
    log(`done: ${describeTotals(status)}; ${formatDuration(performance.now() - started)} this run`);
    const summaryFile = path.join(outDir, RESULT_NAMES.summary);
    const summary = { ...status, params: { ...params, sources: params.sources.map((s) => ({ ...s, uri: redactUri(s.uri) })) } };

    if (!params.results) {
      await writeJson(summaryFile, summary);
      log(`summary written to ${summaryFile}; no results location set, nothing to publish`);
      return { status, summaryFile, published: false };
    }
    if (status.run.publishedTo === params.results) {
      log(`already published to ${params.results} at ${status.run.publishedAt}; nothing to do`);
      return { status, summaryFile, published: true };
    }
    const snapshotFile = `${params.database}.snapshot`;
    await snapshot(db, snapshotFile);
    const database = await artifactFrom(snapshotFile, RESULT_NAMES.database, 'application/vnd.sqlite3');
    const logFile = await artifactFrom(params.log, RESULT_NAMES.log, 'text/plain; charset=utf-8');
    const objects = Object.fromEntries([database, logFile].map((a) => [a.name, { bytes: a.bytes.length, sha256: sha256(a.bytes) }]));
    const summaryBytes = await writeJson(summaryFile, { ...summary, objects });
    log(`publishing to ${params.results}`);
    const artifacts = [database, logFile, { name: RESULT_NAMES.summary, bytes: summaryBytes, contentType: 'application/json' }];
    await upload(params.results, artifacts, params.publishRetry, log).catch((e: Error) => {
      // The user's next step depends on it: nothing needs loading again.
      throw new Error(`${e.message}; the load is complete in ${params.database}: run again to publish it`);
    });
    markPublished(db, params.results);
    await rm(snapshotFile, { force: true });
    log(`published to ${params.results}`);
    return { status, summaryFile, published: true };
  } finally {
    release();
  }
}
