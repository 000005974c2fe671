/**
 * npm run twin: the AWS twin of the cloud journey (the README's commands in a fresh clone,
 * against moto on this machine; the instance booted as bare as Amazon Linux 2023), printing
 * each command as typed and each stage with its duration. Plays the real schedule (1,630
 * records every 10 s) unless told otherwise: --batch-size N --every SECONDS.
 */
import { parseArgs } from 'node:util';
import { DEV_DATA_DIR } from '../infra/layout.ts';
import { REAL_DATASET, problems, runTwin } from '../infra/twin.ts';
import { DEFAULTS } from '../runner/params.ts';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: String(DEFAULTS.batchSize) },
    every: { type: 'string', default: String(DEFAULTS.everySeconds) },
    'time-limit': { type: 'string', default: '30' },
    region: { type: 'string', default: 'eu-west-3' },
  },
});
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const timeLimitMinutes = Number(values['time-limit']);

try {
  const report = await runTwin({
    region: values.region!,
    batchSize: Number(values['batch-size']),
    everySeconds: Number(values.every),
    timeLimitMinutes,
    dataDir: DEV_DATA_DIR,
    failingBootFirst: true,
    log,
  });
  log(`failing boot: ${report.failedBoot?.ended}; calls: ${report.failedBoot?.calls.join(' | ')}`);
  log(`complete boot: ${report.boot.ended}; calls: ${report.boot.calls.join(' | ')}`);
  log(`synced: ${report.synced.join(', ')}`);
  log(`database: ${report.counts.loaded} loaded, ${report.counts.quarantined} quarantined`);
  log(`role writing outside results/: ${report.deniedWrite}`);
  log(`left in moto after destroy: ${report.leftovers.join(', ') || 'nothing'}`);
  const found = problems(report, REAL_DATASET, timeLimitMinutes);
  for (const p of found) log(`✘ ${p}`);
  log(found.length ? 'twin: FAILED' : `twin: passed in ${(report.stages.reduce((s, x) => s + x.ms, 0) / 1000).toFixed(0)} s`);
  process.exitCode = found.length ? 1 : 0;
} catch (e) {
  log(`twin: error: ${(e as Error).message}`);
  process.exitCode = 1;
}
