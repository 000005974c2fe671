/**
 * npm run twin: the AWS twin of the cloud journey (deploy, boot, sync, destroy) against moto
 * on this machine, printing each stage with its duration. Plays the real schedule (1,630
 * records every 10 s) unless told otherwise: --batch-size N --every SECONDS.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_DATA_DIR } from '../infra/layout.ts';
import { REAL_DATASET, problems, runTwin } from '../infra/twin.ts';
import { DEFAULTS } from '../runner/params.ts';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: String(DEFAULTS.batchSize) },
    every: { type: 'string', default: String(DEFAULTS.everySeconds) },
    'time-limit': { type: 'string', default: '30' },
  },
});
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

try {
  const report = await runTwin({
    batchSize: Number(values['batch-size']),
    everySeconds: Number(values.every),
    timeLimitMinutes: Number(values['time-limit']),
    dataDir: DEV_DATA_DIR,
    failingBootFirst: true,
    log,
  });
  log(`failing boot: ${report.failedBoot?.ended}; calls: ${report.failedBoot?.calls.join(' | ')}`);
  log(`complete boot: ${report.boot.ended}; calls: ${report.boot.calls.join(' | ')}`);
  log(`synced: ${report.synced.map((f) => path.basename(f)).join(', ')}`);
  log(`database: ${report.counts.loaded} loaded, ${report.counts.quarantined} quarantined`);
  log(`role writing outside results/: ${report.deniedWrite}`);
  log(`left in moto after destroy: ${report.leftovers.join(', ') || 'nothing'}`);
  const found = problems(report, REAL_DATASET);
  for (const p of found) log(`✘ ${p}`);
  log(found.length ? 'twin: FAILED' : `twin: passed in ${(report.stages.reduce((s, x) => s + x.ms, 0) / 1000).toFixed(0)} s`);
  process.exitCode = found.length ? 1 : 0;
} catch (e) {
  log(`twin: error: ${(e as Error).message}`);
  process.exitCode = 1;
}
