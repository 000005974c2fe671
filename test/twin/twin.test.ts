/**
 * The AWS twin end to end, the proof that the cloud journey works without AWS: in a fresh
 * clone, the commands of docs/aws.md typed verbatim against moto with IAM enforced, the
 * instance booted as bare as Amazon Linux 2023, one deploy shared by every stage (journey.ts
 * says which), on a fast schedule through the user's own settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  REAL_DATASET,
  UNCHANGED,
  bootCalls,
  problems,
  runTwin,
  type TwinReport,
} from '../../twin/journey.ts';
import { writeUserDataset } from '../../twin/user-dataset.ts';
import { DATA_DIR } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { requireTool } from '../support/tools.ts';

const TOOLS = ['terraform', 'moto_server', 'aws', 'unshare', 'ip'];
const LIMIT = 15;

const journey = [
  'refused → deploy → run → sync → unchanged',
  'changed + logs → failing → stopped → a dataset of the user → destroy',
].join(' → ');
test(`the twin types the docs' commands: ${journey}`, { timeout: 20 * 60_000 }, async (t) => {
  if (!TOOLS.every((tool) => requireTool(t, tool))) return;
  const dataset = writeUserDataset(tempDir('census-user-dataset-'));
  const r: TwinReport = await runTwin({
    region: 'eu-west-3',
    batchSize: 5000,
    changedBatchSize: 1500,
    everySeconds: 1,
    timeLimitMinutes: LIMIT,
    watchdogSeconds: 4,
    dataDir: DATA_DIR,
    dataset,
    log: (line) => t.diagnostic(line),
  });

  const deploy = 'npx cdktf deploy --auto-approve';
  const rerun = 'npm run rerun -- --auto-approve';
  assert.deepEqual(r.typed, [
    { command: 'npx cdktf synth', status: 0 },
    { command: '(cd cdktf.out/stacks/census-etl && terraform init -input=false)', status: 0 },
    { command: `CENSUS_BATCH_SIZE=100 CENSUS_EVERY_SECONDS=60 ${deploy}`, status: 1 },
    { command: deploy, status: 0 },
    { command: 'npm run sync', status: 0 },
    { command: deploy, status: 0 },
    { command: deploy, status: 0 },
    { command: 'npm run logs', status: 0 },
    { command: rerun, status: 0 },
    { command: 'npm run sync', status: 1 },
    { command: rerun, status: 0 },
    { command: 'npm run sync -- --list', status: 0 },
    { command: deploy, status: 0 },
    { command: 'npm run sync', status: 0 },
    { command: 'npx cdktf destroy --auto-approve', status: 0 },
  ]);
  assert.match(
    r.refused.output,
    /census-etl infra: CENSUS_BATCH_SIZE=100 and CENSUS_EVERY_SECONDS=60 need ceil\(48845/,
  );
  assert.equal(r.outputs.region, 'eu-west-3');

  assert.deepEqual(r.first.calls, bootCalls(LIMIT, true), 'nothing compiled, nothing installed but nodejs24');
  assert.equal(r.first.doc?.state, 'complete');
  assert.match(r.first.log, /batch 10\/10: .* \| 100\.0%/);
  assert.ok(r.first.run?.endsWith(`-${r.outputs.release}`));

  assert.equal(r.unchanged.instanceId, r.first.instanceId, 'no new instance');
  assert.equal(r.unchanged.state, 'stopped', 'the finished instance stays, stopped');
  assert.deepEqual(r.unchanged.newRuns, [], 'no new run');
  assert.match(r.unchanged.output, UNCHANGED);

  assert.notEqual(r.changed.instanceId, r.first.instanceId);
  assert.notEqual(r.changed.doc?.release, r.first.doc?.release);
  assert.equal(r.changed.doc?.state, 'complete');
  assert.ok(r.firstRunKeys.includes(`results/${r.first.run}/census.db`), 'the first run is still there');
  assert.match(
    r.logs.output,
    /batch 1\/33: [\s\S]*batch 33\/33: [\s\S]*done: 48837 loaded[\s\S]*logs: run \S+ is complete/,
  );
  assert.ok(r.logs.seen['first batch'] < r.changed.started + r.changed.milestones.published, 'followed live');

  assert.equal(r.failed.doc?.state, 'failed');
  assert.match(
    r.failed.doc!.why!,
    /^the loader failed \(exit status 1\): source s3:\/\/.+\/Adult\.test: SHA-256 is \w{64}, expected 1589/,
  );
  assert.deepEqual(r.failed.resultKeys, [
    `results/${r.failed.run}/census-etl.log`,
    `results/${r.failed.run}/run.json`,
  ]);
  assert.match(
    r.syncAfterFailure.output,
    new RegExp(`newest run ${r.failed.run} failed: the loader failed [^\\n]*\\nits log: `),
  );
  assert.equal(r.latestAfterFailure, r.changed.run, 'the previous complete run is still the latest');

  assert.equal(r.stopped.doc?.state, 'stopped');
  assert.equal(
    r.stopped.doc?.why,
    `stopped by the time limit: CENSUS_TIME_LIMIT_MINUTES=${LIMIT} ` +
      '(the watchdog stops the loader 120 s before it)',
  );
  assert.ok(r.stopped.resultKeys.includes(`results/${r.stopped.run}/census-etl.log`), 'its log in S3');
  assert.match(r.list.output, new RegExp(`\\* ${r.changed.run} {2}complete`));

  assert.deepEqual(r.counts, REAL_DATASET);
  assert.equal(r.dataset.doc?.state, 'complete', r.dataset.log.slice(-2000));
  assert.notEqual(r.dataset.doc?.release, r.changed.doc?.release, 'another dataset, another release');
  assert.deepEqual(r.datasetRows, dataset.rows);
  assert.match(r.deniedWrite, /AccessDenied/);
  assert.deepEqual(r.leftovers, []);
  assert.deepEqual(problems(r, REAL_DATASET, LIMIT, dataset.rows), []);
  for (const s of r.stages) t.diagnostic(`${s.name}: ${(s.ms / 1000).toFixed(1)} s`);
});
