/**
 * Schedule: one batch per node-cron tick on the wall clock (never two at once), or back to
 * back when unthrottled; stops by itself when `step` reports the work done, or when asked to
 * stop (no batch starts after that; the one under way commits first).
 */
import cron from 'node-cron';
import { Loader, type LoaderOptions } from './batches.ts';
import { Parsers } from '../extract/parsers.ts';
import { formatDuration, type Log } from '../shared/log.ts';
import type { Params } from '../params.ts';
import type { StagedSource } from '../extract/sources.ts';
import type { Store } from '../store/store.ts';
import type { LoadInfo } from '../steps.ts';

/** What a tick runs: one batch; resolves true when nothing is left. */
export type Step = (tick: { scheduledAt: Date | null; startedAt: Date }) => Promise<boolean>;

/** A stop asked for from outside (SIGTERM, SIGINT): the reason a stop signal aborts with. */
export class StoppedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
  }
}

export const cronExpression = (everySeconds: number) =>
  everySeconds === 60 ? '0 * * * * *' : `*/${everySeconds} * * * * *`;

export function runScheduled(everySeconds: number, step: Step, log: Log, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    let current: Promise<unknown> = Promise.resolve();
    const end = (settle: () => void) => {
      finished = true;
      stop?.removeEventListener('abort', onStop);
      void task.destroy();
      settle();
    };
    const onStop = () => {
      if (finished) return;
      finished = true;
      // The batch under way (if any) commits or fails on its own; then the stop is reported.
      void current.catch(() => {}).then(() => end(() => reject(stop!.reason)));
    };
    const task = cron.schedule(
      cronExpression(everySeconds),
      async (ctx) => {
        if (finished) return;
        const batch = step({ scheduledAt: ctx.date, startedAt: new Date() });
        current = batch;
        try {
          if ((await batch) && !finished) end(resolve);
        } catch (e) {
          if (!finished) end(() => reject(e));
        }
      },
      {
        name: 'census-etl',
        // A tick that finds the previous batch still running is skipped, never run alongside.
        noOverlap: true,
        logger: {
          info: () => {},
          debug: () => {},
          warn: (m) => log(`schedule: ${m}`),
          error: (m) => log(`schedule: ${String(m)}`),
        },
      },
    );
    if (stop?.aborted) onStop();
    else stop?.addEventListener('abort', onStop);
  });
}

export async function runUnthrottled(step: Step, stop?: AbortSignal): Promise<void> {
  for (;;) {
    stop?.throwIfAborted();
    if (await step({ scheduledAt: null, startedAt: new Date() })) return;
    // Yield to the event loop between batches so signals and I/O are served.
    await new Promise((r) => setImmediate(r));
  }
}

export type LoadOptions = Pick<
  Params,
  'batchSize' | 'everySeconds' | 'unthrottled' | 'maxQuarantinedShare' | 'maxRecordBytes'
> & {
  log: Log;
  /** Called after each committed batch, synchronously: it must not hold the next one up. */
  afterBatch?: () => void;
  stop?: AbortSignal;
  /** Whatever parses the sources' byte ranges; by default a pool of parser threads. */
  parsers?: LoaderOptions['parsers'];
};

/** Loads the staged sources into the store, one batch per tick (or back to back), to the end. */
export async function loadSources(
  store: Store,
  sources: readonly StagedSource[],
  o: LoadOptions,
): Promise<LoadInfo> {
  const before = await store.status();
  const resumedAfter = before.batches.count;
  if (resumedAfter > 0) {
    o.log(
      `resuming after batch ${resumedAfter}: ` +
        `${before.totals.recordsRead} of ${before.totals.records} records already accounted for`,
    );
  }
  const parsers =
    o.parsers ?? new Parsers({ tables: store.dataset.tables, maxRecordBytes: o.maxRecordBytes });
  const loader = await Loader.open(store, sources, { ...o, parsers }).catch(async (e) => {
    await parsers.close();
    throw e;
  });
  let batches = resumedAfter;
  let batchMs = 0;
  const step: Step = async ({ scheduledAt, startedAt }) => {
    const expected = batches + Math.ceil((loader.recordsTotal - loader.recordsDone) / o.batchSize);
    const r = await loader.next();
    batches = r.batch;
    batchMs += r.ms;
    const left = Math.max(0, expected - r.batch);
    const eta = o.unthrottled ? (batchMs / (r.batch - resumedAfter)) * left : left * o.everySeconds * 1000;
    // How late the batch started after its wall-clock tick.
    const late = scheduledAt ? ` | tick +${startedAt.getTime() - scheduledAt.getTime()} ms` : '';
    o.log(
      `batch ${r.batch}/${r.done ? r.batch : Math.max(expected, r.batch + 1)}: ` +
        `${r.loaded} loaded, ${r.quarantined} quarantined, ${r.skipped} skipped` +
        ` | ${((r.recordsDone / loader.recordsTotal) * 100).toFixed(1)}% | ETA ${formatDuration(eta)}` +
        ` | ${r.ms.toFixed(1)} ms${late}`,
    );
    o.afterBatch?.();
    return r.done;
  };
  try {
    if (loader.done) return { resumedAfter, batches: 0, batchMs: 0 };
    if (o.unthrottled) await runUnthrottled(step, o.stop);
    else await runScheduled(o.everySeconds, step, o.log, o.stop);
  } finally {
    await loader.close();
  }
  return { resumedAfter, batches: batches - resumedAfter, batchMs };
}
