/**
 * The journey the twin plays, the cloud half of the user's journey end to end, sharing one
 * deploy on a fast schedule: a schedule too long for the time limit refused; a deploy and its run, synced; an
 * unchanged deploy that changes nothing (no instance, no run); changed parameters, a new run
 * followed live by `npm run logs` from S3 (the first run's results still there); a failing run
 * (`npm run rerun`: sync says it failed and saves its log, the previous complete run is still
 * the latest); a run stopped by its time limit, its log in S3; `npm run sync -- --list`; a
 * user's dataset (CENSUS_DATASET) deployed, loaded and synced; destroy, and nothing left. The
 * verdict, problems(), says what went wrong, in sentences.
 */
import { FILES } from '../runner/dataset/adult.ts';
import { LATEST_COMPLETE, RESULT_NAMES } from '../runner/publish/results.ts';
import { ENV } from '../infra/config.ts';
import { RESULTS_PREFIX } from '../infra/layout.ts';
import type { StackOutputs } from '../scripts/lib/outputs.ts';
import { JOURNEY_COMMANDS, userCommands } from './commands.ts';
import { Twin, type InstanceBoot, type UserSettings } from './twin.ts';
import type { Typed } from './user.ts';

export type JourneySettings = UserSettings & {
  /** The second release's batch size: changed parameters, a new run, long enough to follow live. */
  changedBatchSize: number;
  /** When the twin fires the stopped run's watchdog: seconds after its loader started. */
  watchdogSeconds: number;
  /** A user's dataset for CENSUS_DATASET: its descriptor, and its tables' expected row counts. */
  dataset: { descriptor: string; rows: Record<string, number> };
  log: (line: string) => void;
};

/** The real dataset: 48,842 records, 5 of them invalid. */
export const REAL_DATASET = { loaded: 48_837, quarantined: 5 };

export type TwinReport = {
  stages: { name: string; ms: number }[];
  /** Every command the user typed, in order, with its exit status. */
  typed: { command: string; status: number | null }[];
  /** The deploy of a schedule that cannot finish within the time limit. */
  refused: Typed;
  outputs: StackOutputs;
  /** Role credentials writing outside results/: the error moto gave (should be AccessDenied). */
  deniedWrite: string;
  first: InstanceBoot;
  /** The unchanged deploy: what it said, the instance after it, runs it started. */
  unchanged: { output: string; instanceId: string; state: string; newRuns: string[] };
  changed: InstanceBoot;
  /** `npm run logs` while the changed release's run went on. */
  logs: Typed;
  /** The first run's objects after the second run. */
  firstRunKeys: string[];
  failed: InstanceBoot;
  /** `npm run sync` after the failed run, and latest.json then. */
  syncAfterFailure: Typed;
  latestAfterFailure: string;
  stopped: InstanceBoot;
  list: Typed;
  /** The synced database of the latest complete run. */
  counts: { loaded: number; quarantined: number };
  /** The user's dataset deployed with CENSUS_DATASET: its run, and its synced tables' row counts. */
  dataset: InstanceBoot;
  datasetRows: Record<string, number>;
  leftovers: string[];
};

/** A boot's shim calls, when it installed Node 24 and ran the loader; nothing else, nothing compiled. */
export const bootCalls = (timeLimitMinutes: number, completed: boolean) => [
  `shutdown -h +${timeLimitMinutes}`,
  'dnf install -y -q nodejs24',
  'systemctl daemon-reload',
  'systemctl start census-etl.service',
  ...(completed
    ? []
    : [
        'systemctl show -p Result --value census-etl.service',
        'systemctl show -p ExecMainStatus --value census-etl.service',
      ]),
  'shutdown -h now',
];

/** What Terraform says when it changes no resource (a stopped instance's public DNS output may go). */
export const UNCHANGED = /No changes\.|Resources: 0 added, 0 changed, 0 destroyed/;

/** The whole journey, stage by stage. The caller decides what to assert and prints durations. */
export async function runTwin(settings: JourneySettings): Promise<TwinReport> {
  // Before anything starts: a command the docs no longer show stops the journey here.
  const typing = userCommands();
  const twin = new Twin(settings, settings.log);
  const stage = <T>(name: string, body: () => T | Promise<T>) => twin.stage(name, body);
  let ok = false;
  try {
    await stage('start moto (IAM enforced), an admin user, a fresh clone', () => twin.start());
    await stage('offline only: terraform init from the provider mirror', () => twin.initOffline());
    const slow = `${ENV.batchSize}=100 ${ENV.everySeconds}=60`;
    const refused = await stage('a schedule too long for the time limit', () =>
      twin.type(`${slow} ${typing.deploy}`, { mayFail: true }),
    );

    await stage('npx cdktf deploy', () => twin.type(typing.deploy));
    const outputs = twin.outputs();
    const deniedWrite = await stage('the instance role writes outside results/', () =>
      twin.roleWriteOutsideResults(),
    );
    const first = await stage('boot → first batch → publish → power off', () => twin.boot('first'));
    await stage('npm run sync', () => twin.type(typing.sync));

    const unchanged = await stage('npx cdktf deploy, unchanged: nothing happens', async () => {
      const runs = twin.runs();
      const { output } = await twin.type(typing.deploy);
      const { instance_id: instanceId } = twin.outputs();
      const newRuns = twin.runs().filter((r) => !runs.includes(r));
      return { output, instanceId, state: twin.instanceState(instanceId), newRuns };
    });

    twin.export(ENV.batchSize, String(settings.changedBatchSize));
    await stage('npx cdktf deploy, changed parameters: a new release, a new instance', () =>
      twin.type(typing.deploy),
    );
    const [changed, logs] = await stage('boot, and npm run logs following the run from S3', () =>
      Promise.all([
        twin.boot('changed'),
        twin.type(typing.logs, { watch: { 'first batch': /batch 1\/\d+:/ } }),
      ]),
    );
    const firstRunKeys = twin.keys(`${RESULTS_PREFIX}${first.run}/`);

    await stage('npm run rerun: a new instance, the same release', () => twin.type(typing.rerun));
    // After the rerun: its apply puts back any raw object that differs from the deployed one.
    const tampered = FILES[1].name;
    twin.replaceRawFile(tampered, Buffer.from('tampered\n'));
    const failed = await stage(`boot with a tampered ${tampered}: the loader fails`, () =>
      twin.boot('failing'),
    );
    twin.replaceRawFile(tampered, null);
    const syncAfterFailure = await stage('npm run sync: the newest run failed', () =>
      twin.type(typing.sync, { mayFail: true }),
    );
    const latestAfterFailure = JSON.parse(twin.object(`${RESULTS_PREFIX}${LATEST_COMPLETE}`)).run as string;

    await stage('npm run rerun again', () => twin.type(typing.rerun));
    const stopped = await stage('boot; the time limit stops the loader (its watchdog, fired early)', () =>
      twin.boot('stopped', settings.watchdogSeconds),
    );
    const list = await stage('npm run sync -- --list', () => twin.type(typing.list));
    const counts = twin.counts(latestAfterFailure);

    twin.export(ENV.dataset, settings.dataset.descriptor);
    await stage('CENSUS_DATASET=… npx cdktf deploy: a dataset of the user, a new release', () =>
      twin.type(typing.deploy),
    );
    const dataset = await stage('boot → load the user dataset → publish → power off', () =>
      twin.boot('dataset'),
    );
    await stage('npm run sync', () => twin.type(typing.sync));
    const tables = Object.keys(settings.dataset.rows);
    const datasetRows = dataset.doc?.state === 'complete' ? twin.rowCounts(dataset.run!, tables) : {};

    await stage('npx cdktf destroy', () => twin.type(typing.destroy));
    const leftovers = twin.leftovers();
    ok = true;
    const typed = twin.typed.map(({ command, status }) => ({ command, status }));
    return {
      stages: twin.stages,
      typed,
      refused,
      outputs,
      deniedWrite,
      first,
      unchanged,
      changed,
      logs,
      firstRunKeys,
      failed,
      syncAfterFailure,
      latestAfterFailure,
      stopped,
      list,
      counts,
      dataset,
      datasetRows,
      leftovers,
    };
  } finally {
    if (!ok) settings.log(`twin failed; its scratch folder is kept: ${twin.scratchDir}`);
    await twin.stop(!ok);
  }
}

/** What went wrong, as sentences; empty when the journey is as it must be. */
export function problems(
  r: TwinReport,
  expected: { loaded: number; quarantined: number },
  limit: number,
  expectedRows: Record<string, number>,
): string[] {
  const found: string[] = [];
  const says = (what: string, ok: boolean) => ok || found.push(what);
  const checkBoot = (name: string, b: InstanceBoot, state: 'complete' | 'failed' | 'stopped') => {
    says(`${name} boot: ${b.ended}, not powered off by shutdown`, b.ended === 'powered off');
    const calls = bootCalls(limit, state === 'complete');
    says(
      `${name} boot: calls were "${b.calls.join(' | ')}", not "${calls.join(' | ')}"`,
      b.calls.join('\n') === calls.join('\n'),
    );
    says(
      `${name} boot: made ${b.run ? `run ${b.run}` : 'no single run'}, ` +
        `recorded ${b.doc?.state}, not ${state}`,
      b.doc?.state === state,
    );
    says(
      `${name} boot: its log is not in S3`,
      b.resultKeys.includes(`${RESULTS_PREFIX}${b.run}/${RESULT_NAMES.log}`),
    );
  };

  says(
    `the too-long schedule was not refused: ${r.refused.output.slice(-300)}`,
    r.refused.status !== 0 && /need ceil\(/.test(r.refused.output),
  );
  checkBoot('first', r.first, 'complete');
  for (const milestone of ['loader started', 'first batch', 'published']) {
    says(`first boot: never reached "${milestone}"`, milestone in r.first.milestones);
  }
  says(
    `unchanged deploy replaced the instance (${r.first.instanceId} → ${r.unchanged.instanceId})`,
    r.unchanged.instanceId === r.first.instanceId,
  );
  says(
    `unchanged deploy: the instance is ${r.unchanged.state}, not stopped`,
    r.unchanged.state === 'stopped',
  );
  says(`unchanged deploy started runs: ${r.unchanged.newRuns.join(', ')}`, r.unchanged.newRuns.length === 0);
  says('unchanged deploy: Terraform changed resources', UNCHANGED.test(r.unchanged.output));

  checkBoot('changed', r.changed, 'complete');
  says('changed parameters: same instance', r.changed.instanceId !== r.first.instanceId);
  says('changed parameters: same release', r.changed.doc?.release !== r.first.doc?.release);
  says(
    `the first run's results are gone: ${r.firstRunKeys.join(', ')}`,
    r.firstRunKeys.includes(`${RESULTS_PREFIX}${r.first.run}/census.db`),
  );
  says(`npm run logs exited with ${r.logs.status}`, r.logs.status === 0);
  const published = r.changed.started + (r.changed.milestones.published ?? Infinity);
  says(
    'npm run logs did not show the first batch before the run published (not live)',
    r.logs.seen['first batch'] < published,
  );

  checkBoot('failing', r.failed, 'failed');
  says(`failed run's why: ${r.failed.doc?.why}`, /SHA-256 is/.test(r.failed.doc?.why ?? ''));
  says(`npm run sync after the failure: exit ${r.syncAfterFailure.status}`, r.syncAfterFailure.status === 1);
  says(
    'npm run sync did not say the newest run failed',
    r.syncAfterFailure.output.includes(`newest run ${r.failed.run} failed: `),
  );
  says(
    `latest complete run after the failure: ${r.latestAfterFailure}`,
    r.latestAfterFailure === r.changed.run,
  );

  checkBoot('stopped', r.stopped, 'stopped');
  says(
    `stopped run's why: ${r.stopped.doc?.why}`,
    /stopped by the time limit/.test(r.stopped.doc?.why ?? ''),
  );
  for (const [boot, state] of [
    [r.first, 'complete'],
    [r.changed, 'complete'],
    [r.failed, 'failed'],
    [r.stopped, 'stopped'],
  ] as const) {
    says(
      `sync --list does not show ${boot.run} ${state}`,
      new RegExp(`${boot.run} {2}${state}`).test(r.list.output),
    );
  }
  checkBoot('dataset', r.dataset, 'complete');
  says(
    `the user dataset's synced tables: ${JSON.stringify(r.datasetRows)}, ` +
      `not ${JSON.stringify(expectedRows)}`,
    JSON.stringify(r.datasetRows) === JSON.stringify(expectedRows),
  );
  says(
    `synced database: ${r.counts.loaded} loaded, ${r.counts.quarantined} quarantined; ` +
      `expected ${expected.loaded} and ${expected.quarantined}`,
    r.counts.loaded === expected.loaded && r.counts.quarantined === expected.quarantined,
  );
  const failedCommands = r.typed.filter(
    (t) => t.status !== 0 && t.command !== r.refused.command && t.command !== JOURNEY_COMMANDS.sync,
  );
  for (const t of failedCommands) found.push(`\`${t.command}\` exited with ${t.status}`);
  says(`role write outside results/: ${r.deniedWrite}`, /AccessDenied/.test(r.deniedWrite));
  says(`left in moto after destroy: ${r.leftovers.join(', ')}`, r.leftovers.length === 0);
  return found;
}
