/**
 * npm run twin: the AWS twin of the cloud journey (the commands of docs/aws.md in a fresh clone,
 * against moto on this machine; the instance booted as bare as Amazon Linux 2023), printing
 * each command as typed and each stage with its duration. Plays the real schedule (1,630
 * records every 10 s) unless told otherwise: --batch-size N --every SECONDS.
 */
import { parseArgs } from 'node:util';
import { DEV_DATA_DIR } from './lib/dev-data.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REAL_DATASET, problems, runTwin } from '../twin/journey.ts';
import { writeUserDataset } from '../twin/user-dataset.ts';
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
const batchSize = Number(values['batch-size']);

const dataset = writeUserDataset(mkdtempSync(path.join(tmpdir(), 'census-user-dataset-')));
try {
  const report = await runTwin({
    region: values.region!,
    batchSize,
    // The second release: other parameters, the same schedule's length, give or take.
    changedBatchSize: batchSize + 10,
    everySeconds: Number(values.every),
    timeLimitMinutes,
    watchdogSeconds: 5,
    dataDir: DEV_DATA_DIR,
    dataset,
    log,
  });
  for (const [name, b] of Object.entries({
    first: report.first,
    changed: report.changed,
    failed: report.failed,
    stopped: report.stopped,
    dataset: report.dataset,
  })) {
    log(`${name} run ${b.run}: ${b.doc?.state}${b.doc?.why ? ` (${b.doc.why})` : ''}; boot ${b.ended}`);
  }
  log(`database: ${report.counts.loaded} loaded, ${report.counts.quarantined} quarantined`);
  log(`role writing outside results/: ${report.deniedWrite}`);
  log(`left in moto after destroy: ${report.leftovers.join(', ') || 'nothing'}`);
  log(`user dataset: ${JSON.stringify(report.datasetRows)}`);
  const found = problems(report, REAL_DATASET, timeLimitMinutes, dataset.rows);
  for (const p of found) log(`✘ ${p}`);
  const seconds = report.stages.reduce((s, x) => s + x.ms, 0) / 1000;
  log(found.length ? 'twin: FAILED' : `twin: passed in ${seconds.toFixed(0)} s`);
  process.exitCode = found.length ? 1 : 0;
} catch (e) {
  log(`twin: error: ${(e as Error).message}`);
  process.exitCode = 1;
}
