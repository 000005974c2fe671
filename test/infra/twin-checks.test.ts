/** The twin's verdict finds each way a journey can go wrong (so a passing twin means something). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootCalls, problems, type InstanceBoot, type TwinReport } from '../../infra/twin.ts';

const expected = { loaded: 10, quarantined: 1 };
const calls = bootCalls(30);
const milestones = { 'loader started': 1, 'first batch': 2, published: 3 };
const resultKeys = ['results/census-etl.log', 'results/census.db', 'results/summary.json'];
const boot: InstanceBoot = {
  ended: 'powered off',
  calls,
  log: '',
  console: '',
  milestones,
  ms: 4,
  resultKeys,
};
const good: TwinReport = {
  stages: [],
  typed: [
    { command: 'npx cdktf deploy --auto-approve', status: 0 },
    { command: 'npm run logs', status: 1 },
  ],
  outputs: {
    region: 'us-east-1',
    bucket: 'b',
    results_uri: 's3://b/results/',
    instance_id: 'i-1',
    public_dns: '',
    instance_role_arn: 'r',
    ssh_command: 'none',
  },
  logs: { command: 'npm run logs', status: 1, output: '', ms: 1 },
  failedBoot: { ...boot, resultKeys: ['results/census-etl.log'], uploadedLog: 'source x: SHA-256 is 00, expected 11' },
  boot,
  synced: [],
  counts: expected,
  leftovers: [],
  deniedWrite: 'An error occurred (AccessDenied) when calling the PutObject operation',
};

test('a journey as it must be has no problems', () => {
  assert.deepEqual(problems(good, expected, 30), []);
});

const booted = (change: Partial<InstanceBoot>): Partial<TwinReport> => ({ boot: { ...boot, ...change } });
const failed = (change: Partial<TwinReport['failedBoot']>): Partial<TwinReport> => ({
  failedBoot: { ...good.failedBoot!, ...change },
});
const broken: [string, Partial<TwinReport>, RegExp][] = [
  ['no power-off', booted({ ended: 'exited with 0', calls: calls.slice(0, -1) }), /exited with 0, not/],
  ['shutdown twice', booted({ calls: [...calls, 'shutdown -h now'] }), /shutdown -h now \| shutdown -h now"/],
  ['no time limit first', booted({ calls: calls.slice(1) }), /complete boot: calls were "dnf install/],
  ['a compiler called', booted({ calls: [...calls.slice(0, 2), 'make', ...calls.slice(2)] }), / \| make \| /],
  ['no first batch', booted({ milestones: { 'loader started': 1 } }), /never reached "first batch"/],
  ['failed run without its log', failed({ resultKeys: [] }), /results\/ holds nothing/],
  ['log without the reason', failed({ uploadedLog: 'failed' }), /does not tell why/],
  ['wrong counts', { counts: { loaded: 9, quarantined: 1 } }, /9 loaded, 1 quarantined; expected 10/],
  ['a README command failed', { typed: [{ command: 'npm run sync', status: 1 }] }, /`npm run sync` exited/],
  ['excessive permission', { deniedWrite: 'allowed' }, /role write outside results\/: allowed/],
  ['leftovers', { leftovers: ['bucket b'] }, /left in moto after destroy: bucket b/],
];

for (const [name, change, message] of broken) {
  test(`finds: ${name}`, () => {
    assert.match(problems({ ...good, ...change }, expected, 30).join('\n'), message);
  });
}
