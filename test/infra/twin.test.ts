/**
 * The AWS twin end to end (issue 9's acceptance test): in a fresh clone, the README's commands
 * typed verbatim against moto with IAM enforced; a boot whose loader fails (tampered raw
 * file), a redeploy and a boot that loads the real dataset on a bare Amazon Linux 2023 twin;
 * sync; destroy. Fast schedule (5,000 records a second) through the user's settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REAL_DATASET, bootCalls, problems, runTwin, type TwinReport } from '../../infra/twin.ts';
import { DATA_DIR } from '../support/cli.ts';
import { requireTool } from '../support/tools.ts';

const TOOLS = ['terraform', 'moto_server', 'aws', 'unshare', 'ip'];
const LIMIT = 15;

const journey = 'deploy → logs → failing boot → redeploy → boot → sync → destroy';
test(`the twin types the README: ${journey}`, { timeout: 20 * 60_000 }, async (t) => {
  if (!TOOLS.every((tool) => requireTool(t, tool))) return;
  const report: TwinReport = await runTwin({
    region: 'eu-west-3',
    batchSize: 5000,
    everySeconds: 1,
    timeLimitMinutes: LIMIT,
    dataDir: DATA_DIR,
    failingBootFirst: true,
    log: (line) => t.diagnostic(line),
  });

  assert.deepEqual(report.typed, [
    { command: 'npx cdktf synth', status: 0 },
    { command: '(cd cdktf.out/stacks/census-etl && terraform init -input=false)', status: 0 },
    { command: 'npx cdktf deploy --auto-approve', status: 0 },
    { command: 'npm run logs', status: 1 },
    { command: 'npx cdktf deploy --auto-approve', status: 0 },
    { command: 'npm run sync', status: 0 },
    { command: 'npx cdktf destroy --auto-approve', status: 0 },
  ]);
  assert.match(report.logs.output, /logs: the stack allows no SSH \(none: set CENSUS_SSH_KEY_NAME and/);
  assert.equal(report.outputs.region, 'eu-west-3');

  const failed = report.failedBoot!;
  assert.equal(failed.ended, 'powered off');
  assert.deepEqual(failed.calls, bootCalls(LIMIT));
  assert.deepEqual(failed.resultKeys, ['results/census-etl.log'], 'only the log, uploaded by the user-data');
  assert.match(failed.uploadedLog, /census-etl: error: source s3:\/\/.+\/Adult\.test: SHA-256 is [0-9a-f]{64}, expected 158918d9/);
  assert.match(failed.uploadedLog, /census-etl bootstrap: \S+ failed \(exit 1\)/);

  const boot = report.boot;
  assert.equal(boot.ended, 'powered off');
  assert.deepEqual(boot.calls, bootCalls(LIMIT), 'nothing compiled, nothing installed but nodejs24');
  assert.deepEqual(boot.resultKeys, ['results/census-etl.log', 'results/census.db', 'results/summary.json']);
  assert.match(boot.log, /batch 10\/10: .* \| 100\.0%/);
  assert.match(boot.log, /published to s3:\/\/census-etl-.+\/results\//);
  const { 'loader started': started, 'first batch': first, published } = boot.milestones;
  assert.ok(started < first && first < published && published <= boot.ms, JSON.stringify(boot.milestones));

  const synced = ['census-etl.log', 'census.db', 'report.html', 'report.md', 'summary.json'];
  assert.deepEqual(report.synced.sort(), synced.map((f) => `results/${f}`));
  assert.deepEqual(report.counts, REAL_DATASET);
  assert.match(report.deniedWrite, /AccessDenied/);
  assert.deepEqual(report.leftovers, []);
  assert.deepEqual(problems(report, REAL_DATASET, LIMIT), []);
  for (const s of report.stages) t.diagnostic(`${s.name}: ${(s.ms / 1000).toFixed(1)} s`);
});
