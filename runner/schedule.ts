/**
 * Schedule: one batch per node-cron tick on the wall clock (never two at once), or back to
 * back when unthrottled; stops by itself when `step` reports the work done.
 */
import cron from 'node-cron';
import type { Log } from './log.ts';

/** What a tick runs: one batch; resolves true when nothing is left. */
export type Step = (tick: { scheduledAt: Date | null; startedAt: Date }) => Promise<boolean>;

export const cronExpression = (everySeconds: number) => (everySeconds === 60 ? '0 * * * * *' : `*/${everySeconds} * * * * *`);

export function runScheduled(everySeconds: number, step: Step, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const task = cron.schedule(
      cronExpression(everySeconds),
      async (ctx) => {
        if (finished) return;
        try {
          if (await step({ scheduledAt: ctx.date, startedAt: new Date() })) {
            finished = true;
            await task.destroy();
            resolve();
          }
        } catch (e) {
          finished = true;
          await task.destroy();
          reject(e);
        }
      },
      {
        name: 'census-etl',
        // A tick that finds the previous batch still running is skipped, never run alongside.
        noOverlap: true,
        logger: { info: () => {}, debug: () => {}, warn: (m) => log(`schedule: ${m}`), error: (m) => log(`schedule: ${String(m)}`) },
      },
    );
  });
}

export async function runUnthrottled(step: Step): Promise<void> {
  while (!(await step({ scheduledAt: null, startedAt: new Date() }))) {
    // Yield to the event loop between batches so signals and I/O are served.
    await new Promise((r) => setImmediate(r));
  }
}
