/**
 * The AWS twin end to end (issue 3's acceptance test): deploy to moto with IAM enforced, a
 * boot whose loader fails (tampered raw file), a redeploy and a boot that loads the real
 * dataset, sync, destroy. Fast schedule (5,000 records a second) through the user's settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REAL_DATASET, problems, runTwin, type TwinReport } from '../../infra/twin.ts';
import { DATA_DIR } from '../support/cli.ts';
import { requireTool } from '../support/tools.ts';

const TOOLS = ['terraform', 'moto_server', 'aws', 'unshare'];

test('the twin plays deploy → failing boot → redeploy → boot → sync → destroy', { timeout: 20 * 60_000 }, async (t) => {
  if (!TOOLS.every((tool) => requireTool(t, tool))) return;
  const report: TwinReport = await runTwin({
    batchSize: 5000,
    everySeconds: 1,
    timeLimitMinutes: 15,
    dataDir: DATA_DIR,
    failingBootFirst: true,
    log: (line) => t.diagnostic(line),
  });

  const failed = report.failedBoot!;
  assert.equal(failed.ended, 'powered off');
  assert.deepEqual(failed.calls, ['shutdown -h +15', 'dnf install -y -q nodejs20 nodejs20-npm', 'systemctl daemon-reload', 'systemctl start census-etl.service', 'shutdown -h now']);
  assert.deepEqual(failed.resultKeys, ['results/census-etl.log'], 'only the log, uploaded by the user-data');
  assert.match(failed.uploadedLog, /census-etl: error: source s3:\/\/.+\/Adult\.test: SHA-256 is [0-9a-f]{64}, expected 158918d9/);
  assert.match(failed.uploadedLog, /census-etl bootstrap failed \(exit 1\)/);

  const boot = report.boot;
  assert.equal(boot.ended, 'powered off');
  assert.equal(boot.calls[0], 'shutdown -h +15', 'the time limit comes first');
  assert.equal(boot.calls.filter((c) => c.startsWith('shutdown -h now')).length, 1);
  assert.equal(boot.calls.at(-1), 'shutdown -h now', 'nothing after the power-off');
  assert.deepEqual(boot.resultKeys, ['results/census-etl.log', 'results/census.db', 'results/summary.json']);
  assert.match(boot.log, /batch 10\/10: .* \| 100\.0%/);
  assert.match(boot.log, /published to s3:\/\/census-etl-.+\/results\//);

  assert.deepEqual(report.counts, REAL_DATASET);
  assert.match(report.deniedWrite, /AccessDenied/);
  assert.deepEqual(report.leftovers, []);
  assert.deepEqual(problems(report, REAL_DATASET), []);
  for (const s of report.stages) t.diagnostic(`${s.name}: ${(s.ms / 1000).toFixed(1)} s`);
});
