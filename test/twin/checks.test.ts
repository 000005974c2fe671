/** The twin's verdict finds each way the journey can go wrong (so a passing twin means something). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootCalls, problems, type TwinReport } from '../../twin/journey.ts';
import type { InstanceBoot } from '../../twin/twin.ts';
import type { Typed } from '../../twin/user.ts';
import type { RunDocument, RunState } from '../../runner/publish/results.ts';

const expected = { loaded: 10, quarantined: 1 };
const LIMIT = 30;
const typed = (command: string, status: number, output = '', seen = {}): Typed => ({
  command,
  status,
  output,
  ms: 1,
  seen,
});

function boot(
  run: string,
  instanceId: string,
  release: string,
  state: RunState,
  why: string | null = null,
): InstanceBoot {
  const doc: RunDocument = { run, release, state, why, startedAt: '', updatedAt: '', progress: null };
  const resultKeys = [`results/${run}/census-etl.log`, `results/${run}/run.json`];
  const milestones = { 'loader started': 1, 'first batch': 2, published: 3 };
  const calls = bootCalls(LIMIT, state === 'complete');
  return {
    ended: 'powered off',
    calls,
    log: '',
    console: '',
    milestones,
    started: 1000,
    ms: 4,
    instanceId,
    run,
    doc,
    resultKeys,
  };
}

const first = boot('20261101T000000Z-a', 'i-1', 'a', 'complete');
const changed = boot('20261101T000100Z-b', 'i-2', 'b', 'complete');
const failed = boot(
  '20261101T000200Z-b',
  'i-3',
  'b',
  'failed',
  'the loader failed (exit status 1): x: SHA-256 is 0, expected 1',
);
const stopped = boot(
  '20261101T000300Z-b',
  'i-4',
  'b',
  'stopped',
  'stopped by the time limit: CENSUS_TIME_LIMIT_MINUTES=30',
);
const dataset = boot('20261101T000400Z-c', 'i-5', 'c', 'complete');
const datasetRows = { airports: 2, quarantine: 1 };
const list = [
  `* ${changed.run}  complete`,
  `  ${first.run}  complete`,
  `  ${failed.run}  failed`,
  `  ${stopped.run}  stopped`,
];

const good: TwinReport = {
  stages: [],
  typed: [
    { command: 'CENSUS_BATCH_SIZE=100 npx cdktf deploy --auto-approve', status: 1 },
    { command: 'npx cdktf deploy --auto-approve', status: 0 },
    { command: 'npm run sync', status: 1 },
  ],
  refused: typed('CENSUS_BATCH_SIZE=100 npx cdktf deploy --auto-approve', 1, 'need ceil(48845 lines / 100)'),
  outputs: {} as TwinReport['outputs'],
  deniedWrite: 'An error occurred (AccessDenied) when calling the PutObject operation',
  first,
  unchanged: {
    output: 'Apply complete! Resources: 0 added, 0 changed, 0 destroyed.',
    instanceId: 'i-1',
    state: 'stopped',
    newRuns: [],
  },
  changed,
  logs: typed('npm run logs', 0, 'batch 1/3', { 'first batch': 1001 }),
  firstRunKeys: [`results/${first.run}/census.db`],
  failed,
  syncAfterFailure: typed('npm run sync', 1, `newest run ${failed.run} failed: the loader failed`),
  latestAfterFailure: changed.run!,
  stopped,
  list: typed('npm run sync -- --list', 0, list.join('\n')),
  counts: expected,
  dataset,
  datasetRows,
  leftovers: [],
};

test('a journey as it must be has no problems', () => {
  assert.deepEqual(problems(good, expected, LIMIT, datasetRows), []);
});

const broken: [string, Partial<TwinReport>, RegExp][] = [
  [
    'the long schedule deployed',
    { refused: typed('x', 0, 'Apply complete') },
    /too-long schedule was not refused/,
  ],
  [
    'no power-off',
    { first: { ...first, ended: 'exited with 0' } },
    /first boot: exited with 0, not powered off/,
  ],
  [
    'a compiler called',
    { first: { ...first, calls: [...first.calls.slice(0, 2), 'make', ...first.calls.slice(2)] } },
    / \| make \| /,
  ],
  [
    'no first batch',
    { first: { ...first, milestones: { 'loader started': 1 } } },
    /never reached "first batch"/,
  ],
  [
    'unchanged deploy, new instance',
    { unchanged: { ...good.unchanged, instanceId: 'i-9' } },
    /replaced the instance \(i-1 → i-9\)/,
  ],
  [
    'unchanged deploy, new run',
    { unchanged: { ...good.unchanged, newRuns: ['r'] } },
    /unchanged deploy started runs: r/,
  ],
  [
    'unchanged deploy, changes',
    { unchanged: { ...good.unchanged, output: 'Resources: 0 added, 1 changed' } },
    /changed resources/,
  ],
  [
    'terminated, not stopped',
    { unchanged: { ...good.unchanged, state: 'terminated' } },
    /is terminated, not stopped/,
  ],
  ['first run gone', { firstRunKeys: [] }, /the first run's results are gone/],
  ['logs not live', { logs: typed('npm run logs', 0, '', { 'first batch': 9999 }) }, /not live/],
  [
    'failed run not recorded',
    { failed: { ...failed, doc: null } },
    /failing boot: made run .*, recorded undefined, not failed/,
  ],
  [
    'sync silent on failure',
    { syncAfterFailure: typed('npm run sync', 0, '') },
    /did not say the newest run failed/,
  ],
  [
    'latest moved to a failed run',
    { latestAfterFailure: failed.run! },
    /latest complete run after the failure/,
  ],
  [
    'stopped run without its log',
    { stopped: { ...stopped, resultKeys: [] } },
    /stopped boot: its log is not in S3/,
  ],
  ['list without a run', { list: typed('npm run sync -- --list', 0, '') }, /sync --list does not show/],
  ['wrong counts', { counts: { loaded: 9, quarantined: 1 } }, /9 loaded, 1 quarantined; expected 10/],
  [
    "the user dataset's run failed",
    { dataset: { ...dataset, doc: { ...dataset.doc!, state: 'failed' } } },
    /dataset boot: .*recorded failed, not complete/,
  ],
  [
    "the user dataset's rows",
    { datasetRows: { airports: 1, quarantine: 1 } },
    /the user dataset's synced tables: \{"airports":1,"quarantine":1\}/,
  ],
  [
    'a documented command failed',
    { typed: [{ command: 'npm run rerun -- --auto-approve', status: 1 }] },
    /`npm run rerun/,
  ],
  ['excessive permission', { deniedWrite: 'allowed' }, /role write outside results\/: allowed/],
  ['leftovers', { leftovers: ['bucket b'] }, /left in moto after destroy: bucket b/],
];

for (const [name, change, message] of broken) {
  test(`finds: ${name}`, () => {
    assert.match(problems({ ...good, ...change }, expected, LIMIT, datasetRows).join('\n'), message);
  });
}
