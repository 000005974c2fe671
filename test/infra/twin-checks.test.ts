/** The twin's verdict finds each way a journey can go wrong (so a passing twin means something). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { problems, type BootOutcome, type TwinReport } from '../../infra/twin.ts';

const expected = { loaded: 10, quarantined: 1 };
const calls = ['shutdown -h +30', 'dnf install -y -q nodejs20 nodejs20-npm', 'systemctl daemon-reload', 'systemctl start census-etl.service', 'shutdown -h now'];
const boot: BootOutcome = { ended: 'powered off', calls, log: '', resultKeys: ['results/census-etl.log', 'results/census.db', 'results/summary.json'] };
const good: TwinReport = {
  stages: [],
  outputs: { bucket: 'b', results_uri: 's3://b/results/', instance_id: 'i-1', public_dns: '', instance_role_arn: 'r', ssh_command: 'none' },
  failedBoot: { ...boot, resultKeys: ['results/census-etl.log'], uploadedLog: 'source x: SHA-256 is 00, expected 11' },
  boot,
  synced: [],
  counts: expected,
  leftovers: [],
  deniedWrite: 'An error occurred (AccessDenied) when calling the PutObject operation',
};

test('a journey as it must be has no problems', () => {
  assert.deepEqual(problems(good, expected), []);
});

const broken: [string, Partial<TwinReport>, RegExp][] = [
  ['no power-off', { boot: { ...boot, ended: 'exited with 0', calls: calls.slice(0, -1) } }, /complete boot: exited with 0, not powered off[\s\S]*called 0 times/],
  ['shutdown twice', { boot: { ...boot, calls: [...calls, 'shutdown -h now'] } }, /complete boot: shutdown -h now called 2 times/],
  ['no time limit first', { boot: { ...boot, calls: calls.slice(1) } }, /complete boot: the first call was "dnf install/],
  ['failed run without its log', { failedBoot: { ...good.failedBoot!, resultKeys: [] } }, /failing boot: results\/ holds nothing, not just the log/],
  ['log without the reason', { failedBoot: { ...good.failedBoot!, uploadedLog: 'bootstrap failed' } }, /does not tell why the loader failed/],
  ['wrong counts', { counts: { loaded: 9, quarantined: 1 } }, /synced database: 9 loaded, 1 quarantined; expected 10 and 1/],
  ['excessive permission', { deniedWrite: 'allowed' }, /role write outside results\/: allowed/],
  ['leftovers', { leftovers: ['bucket b'] }, /left in moto after destroy: bucket b/],
];

for (const [name, change, message] of broken) {
  test(`finds: ${name}`, () => {
    assert.match(problems({ ...good, ...change }, expected).join('\n'), message);
  });
}
