/**
 * The AWS twin (SPEC §5): the user's cloud journey played on this machine against moto_server,
 * with IAM enforced. In a fresh clone of the project, the README's commands typed verbatim
 * (twin-user.ts); the instance's user-data, read back from EC2, booted on a machine as bare as
 * Amazon Linux 2023 with the instance role's credentials only (twin-instance.ts); then sync,
 * destroy, and a check that nothing is left. Each stage is timed; each fact worth checking is
 * returned.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FILES } from '../runner/dataset.ts';
import { ENV } from './config.ts';
import { RESULTS_PREFIX, STACK_NAME } from './layout.ts';
import { offlineTerraformEnv } from './mirror.ts';
import { startMoto, type Moto } from './moto.ts';
import { readOutputs, type StackOutputs } from './outputs.ts';
import { bootInstance, type BootOutcome } from './twin-instance.ts';
import { UserShell, cloneProject, type Typed } from './twin-user.ts';

export type TwinSettings = {
  /** The stack's region (CENSUS_REGION); the user's shell has no AWS_REGION. */
  region: string;
  batchSize: number;
  everySeconds: number;
  timeLimitMinutes: number;
  /** Folder holding Adult.data and Adult.test (deploy uploads them to the raw zone). */
  dataDir: string;
  /** Boot once with a tampered raw file first: the loader fails, the log must still arrive. */
  failingBootFirst: boolean;
  log: (line: string) => void;
};

/** A boot of the instance, and what S3 held under results/ right after it. */
export type InstanceBoot = BootOutcome & { resultKeys: string[] };

export type TwinReport = {
  stages: { name: string; ms: number }[];
  /** Every command the user typed, in order, with its exit status. */
  typed: { command: string; status: number | null }[];
  outputs: StackOutputs;
  /** `npm run logs` on a stack deployed without SSH: what it told the user. */
  logs: Typed;
  failedBoot: (InstanceBoot & { uploadedLog: string }) | null;
  boot: InstanceBoot;
  synced: string[];
  counts: { loaded: number; quarantined: number };
  /** Stack resources still in moto after destroy (should be none). */
  leftovers: string[];
  /** Role credentials writing outside results/: the error moto gave (should be AccessDenied). */
  deniedWrite: string;
};

/** What the twin times in the instance's log: the boot's milestones. */
export const MILESTONES = {
  'loader started': /census-etl run starting/,
  'first batch': /batch 1\/\d+:/,
  published: /published to s3:\/\//,
} as const;

/** CreateUser, PutUserPolicy, CreateAccessKey: then moto enforces IAM on every request. */
const BOOTSTRAP_CALLS = 3;

type Credentials = { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_SESSION_TOKEN?: string };

/** This machine's environment without any AWS, CENSUS or Terraform setting of its own. */
const ownEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CENSUS_|TF_)/.test(k)));

/** Nothing of a user's AWS setup (profiles, config files) may leak in: only these credentials. */
const awsEnv = (moto: Moto, credentials: Credentials): NodeJS.ProcessEnv => ({
  ...credentials,
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${output}`);
  }
  return r.stdout;
}

/** The AWS CLI against moto, JSON out. */
const aws = (env: NodeJS.ProcessEnv, ...args: string[]) => {
  const out = run('aws', [...args, '--output', 'json'], env);
  return out.trim() ? JSON.parse(out) : {};
};

/** Filtered here: moto rejects the signature of AWS CLI v1 when a prefix holds a "/". */
const listKeys = (env: NodeJS.ProcessEnv, bucket: string, prefix: string): string[] =>
  (aws(env, 's3api', 'list-objects-v2', '--bucket', bucket).Contents ?? [])
    .map((o: { Key: string }) => o.Key)
    .filter((k: string) => k.startsWith(prefix))
    .sort();

/** The bootstrap's and the loader's lines with a time, as seconds after the first one. */
export function timeline(log: string): string[] {
  const events = log.split('\n').flatMap((line) => {
    const m = /^(?:census-etl bootstrap: )?(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line);
    const milestone = Object.values(MILESTONES).some((p) => p.test(line));
    const keep = m && (line.startsWith('census-etl bootstrap:') || milestone);
    return keep ? [{ at: Date.parse(m[1]), what: m[2] }] : [];
  });
  return events.map((e) => `+${((e.at - events[0].at) / 1000).toFixed(1)} s ${e.what.slice(0, 100)}`);
}

export class Twin {
  readonly stages: { name: string; ms: number }[] = [];
  readonly typed: Typed[] = [];
  private readonly scratch = mkdtempSync(path.join(os.tmpdir(), 'census-twin-'));
  private readonly project = path.join(this.scratch, 'census-etl');
  private moto!: Moto;
  private admin!: NodeJS.ProcessEnv;
  private adminArn!: string;
  private user!: UserShell;

  constructor(private readonly settings: TwinSettings) {}

  get scratchDir(): string {
    return this.scratch;
  }

  async stage<T>(name: string, body: () => T | Promise<T>): Promise<T> {
    this.settings.log(`▶ ${name}`);
    const started = performance.now();
    const result = await body();
    const ms = performance.now() - started;
    this.stages.push({ name, ms });
    this.settings.log(`✔ ${name} (${(ms / 1000).toFixed(1)} s)`);
    return result;
  }

  /** The AWS CLI's environment with `credentials`, in the stack's region. */
  private cliEnv(credentials: Credentials): NodeJS.ProcessEnv {
    return { ...ownEnv(), ...awsEnv(this.moto, credentials), AWS_DEFAULT_REGION: this.settings.region };
  }

  /** moto with IAM enforced after the first calls, which create an admin user; a fresh clone. */
  async start(): Promise<void> {
    this.moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_CALLS) });
    const cli = (credentials: Credentials) => this.cliEnv(credentials);
    const anonymous = cli({ AWS_ACCESS_KEY_ID: 'bootstrap', AWS_SECRET_ACCESS_KEY: 'bootstrap' });
    const admin = 'twin-admin';
    this.adminArn = aws(anonymous, 'iam', 'create-user', '--user-name', admin).User.Arn;
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    aws(anonymous, 'iam', 'put-user-policy', '--user-name', admin, '--policy-name', 'admin', '--policy-document', JSON.stringify(everything));
    const { AccessKey: key } = aws(anonymous, 'iam', 'create-access-key', '--user-name', admin);
    const adminKeys = { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey };
    this.admin = cli(adminKeys);

    mkdirSync(this.project);
    cloneProject(this.project);
    // The user's shell: their credentials, the settings the README documents, and the switch
    // to the local endpoint (CENSUS_AWS_ENDPOINT for the provider, AWS_ENDPOINT_URL for the SDK
    // and CLI), plus the offline provider mirror. No AWS_REGION: the stack's region is an output.
    const { region, batchSize, everySeconds, timeLimitMinutes, dataDir } = this.settings;
    const settings = {
      [ENV.region]: region,
      [ENV.batchSize]: String(batchSize),
      [ENV.everySeconds]: String(everySeconds),
      [ENV.timeLimitMinutes]: String(timeLimitMinutes),
      [ENV.dataDir]: dataDir,
      [ENV.localEndpoint]: this.moto.endpoint,
    };
    this.settings.log(`user's settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const offline = offlineTerraformEnv(this.scratch);
    const env = { ...ownEnv(), ...awsEnv(this.moto, adminKeys), ...settings, ...offline };
    const log = (line: string) => this.settings.log(line);
    this.user = new UserShell(this.project, env, path.join(this.scratch, 'transcript.txt'), log);
  }

  private async type(command: string, mustSucceed = true): Promise<Typed> {
    const typed = mustSucceed ? await this.user.must(command) : await this.user.type(command);
    this.typed.push(typed);
    return typed;
  }

  /**
   * Offline only: Terraform would fetch the AWS provider from its registry; here it comes from
   * the local mirror, which needs `terraform init` in the synthesized stack (it writes the lock
   * file `cdktf deploy` would otherwise ask the registry for).
   */
  async initOffline(): Promise<void> {
    await this.type('npx cdktf synth');
    await this.type(`(cd cdktf.out/stacks/${STACK_NAME} && terraform init -input=false)`);
  }

  async deploy(): Promise<StackOutputs> {
    await this.type('npx cdktf deploy --auto-approve');
    return this.outputs();
  }

  /** The outputs, from the state file where the user's deploy put it. */
  outputs(): StackOutputs {
    return readOutputs({}, this.project);
  }

  /** `npm run logs`, as typed. */
  logs(): Promise<Typed> {
    return this.type('npm run logs', false);
  }

  /** Replaces a raw file's object with other bytes (or puts the real file back). */
  replaceRawFile(name: string, bytes: Buffer | null): void {
    const body = path.join(this.scratch, `${name}.body`);
    writeFileSync(body, bytes ?? readFileSync(path.join(this.settings.dataDir, name)));
    const { bucket } = this.outputs();
    const [key] = listKeys(this.admin, bucket, 'raw/').filter((k) => k.endsWith(`/${name}`));
    aws(this.admin, 's3api', 'put-object', '--bucket', bucket, '--key', key, '--body', body);
  }

  /**
   * Role credentials as the instance gets them from IMDS: an STS session of its profile's role.
   * moto lets no service principal assume a role (a trust policy naming ec2.amazonaws.com only
   * fails there), so the twin's admin stands in for EC2: it takes the place of the service in
   * the trust policy. The permissions policy, the thing under test, is left as deployed.
   */
  private instanceCredentials(instanceId: string): Credentials {
    const admin = (...args: string[]) => aws(this.admin, ...args);
    const described = admin('ec2', 'describe-instances', '--instance-ids', instanceId);
    const profileArn: string = described.Reservations[0].Instances[0].IamInstanceProfile.Arn;
    const profileName = profileArn.split('/').pop()!;
    const profile = admin('iam', 'get-instance-profile', '--instance-profile-name', profileName);
    const role: { Arn: string; RoleName: string } = profile.InstanceProfile.Roles[0];
    const standIn = { Effect: 'Allow', Principal: { AWS: this.adminArn }, Action: 'sts:AssumeRole' };
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [standIn] });
    admin('iam', 'update-assume-role-policy', '--role-name', role.RoleName, '--policy-document', trust);
    const assumed = admin('sts', 'assume-role', '--role-arn', role.Arn, '--role-session-name', instanceId);
    const session = assumed.Credentials;
    return {
      AWS_ACCESS_KEY_ID: session.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: session.SecretAccessKey,
      AWS_SESSION_TOKEN: session.SessionToken,
    };
  }

  /**
   * One boot of the instance: its user-data, fetched from EC2, run on the bare twin instance
   * with the role's credentials. Then EC2 does what the instance's shutdown behaviour says.
   */
  async boot(name: string): Promise<InstanceBoot> {
    const { instance_id: id, bucket } = this.outputs();
    const attribute = (which: string) =>
      aws(this.admin, 'ec2', 'describe-instance-attribute', `--attribute=${which}`, `--instance-id=${id}`);
    const outcome = await bootInstance({
      dir: path.join(this.scratch, `boot-${name}`),
      userData: Buffer.from(attribute('userData').UserData.Value, 'base64').toString('utf8'),
      aws: awsEnv(this.moto, this.instanceCredentials(id)),
      s3Port: this.moto.port,
      timeLimitMs: this.settings.timeLimitMinutes * 60_000,
      watch: MILESTONES,
    });
    const behaviour = attribute('instanceInitiatedShutdownBehavior').InstanceInitiatedShutdownBehavior.Value;
    if (outcome.ended === 'powered off' && behaviour === 'terminate') {
      aws(this.admin, 'ec2', 'terminate-instances', '--instance-ids', id);
    }
    for (const line of timeline(outcome.log)) this.settings.log(`  ${line}`);
    const at = Object.entries(outcome.milestones).map(([what, ms]) => `${what} +${(ms / 1000).toFixed(1)} s`);
    const seconds = (outcome.ms / 1000).toFixed(1);
    this.settings.log(`  boot ${outcome.ended} after ${seconds} s; ${at.join(', ') || 'no milestone'}`);
    return { ...outcome, resultKeys: listKeys(this.admin, bucket, RESULTS_PREFIX) };
  }

  /** What the user's `aws s3 cp` of a result gives. */
  fetchResult(name: string): string {
    const file = path.join(this.scratch, `fetched-${name}`);
    aws(this.admin, 's3api', 'get-object', '--bucket', this.outputs().bucket, '--key', RESULTS_PREFIX + name, file);
    return readFileSync(file, 'utf8');
  }

  /** The instance role writing where it must not: the error it gets. */
  roleWriteOutsideResults(): string {
    const { bucket, instance_id: instanceId } = this.outputs();
    const body = path.join(this.scratch, 'intruder');
    writeFileSync(body, 'not a result');
    const role = this.cliEnv(this.instanceCredentials(instanceId));
    const r = spawnSync('aws', ['s3api', 'put-object', '--bucket', bucket, '--key', 'runner/intruder.json', '--body', body], { env: role, encoding: 'utf8' });
    return r.status === 0 ? 'allowed' : r.stderr.trim();
  }

  /** `npm run sync`, as typed; the files it wrote, as it lists them. */
  async sync(): Promise<string[]> {
    const typed = await this.type('npm run sync');
    return typed.output.split('\n').filter((l) => l.startsWith('results/') || l.startsWith(this.project));
  }

  counts(): { loaded: number; quarantined: number } {
    const db = new Database(path.join(this.project, 'results', 'census.db'), { readonly: true });
    try {
      const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      return { loaded: count('adult'), quarantined: count('quarantine') };
    } finally {
      db.close();
    }
  }

  async destroy(): Promise<void> {
    await this.type('npx cdktf destroy --auto-approve');
  }

  /** Anything of the stack still in moto: buckets, roles, profiles, security groups, live instances. */
  leftovers(): string[] {
    const a = (...args: string[]) => aws(this.admin, ...args);
    const buckets = (a('s3api', 'list-buckets').Buckets ?? []).map((b: { Name: string }) => `bucket ${b.Name}`);
    const roles = a('iam', 'list-roles').Roles.filter((r: { RoleName: string }) => r.RoleName.startsWith('census-etl')).map((r: { RoleName: string }) => `role ${r.RoleName}`);
    const profiles = a('iam', 'list-instance-profiles').InstanceProfiles.map((p: { InstanceProfileName: string }) => `instance profile ${p.InstanceProfileName}`);
    const groups = a('ec2', 'describe-security-groups').SecurityGroups.filter((g: { GroupName: string }) => g.GroupName !== 'default').map((g: { GroupName: string }) => `security group ${g.GroupName}`);
    const instances = a('ec2', 'describe-instances')
      .Reservations.flatMap((r: { Instances: { InstanceId: string; State: { Name: string } }[] }) => r.Instances)
      .filter((i: { State: { Name: string } }) => i.State.Name !== 'terminated')
      .map((i: { InstanceId: string; State: { Name: string } }) => `instance ${i.InstanceId} (${i.State.Name})`);
    return [...buckets, ...roles, ...profiles, ...groups, ...instances];
  }

  async stop(keepScratch: boolean): Promise<void> {
    await this.moto?.stop();
    if (!keepScratch) rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** The real dataset: 48,842 records, 5 of them invalid. */
export const REAL_DATASET = { loaded: 48_837, quarantined: 5 };

/** The calls of a boot on a bare AL2023 that installed Node 24 and ran the loader: nothing else. */
export const bootCalls = (timeLimitMinutes: number) => [
  `shutdown -h +${timeLimitMinutes}`,
  'dnf install -y -q nodejs24',
  'systemctl daemon-reload',
  'systemctl start census-etl.service',
  'shutdown -h now',
];

/** What went wrong, as sentences; empty when the journey is as it must be. */
export function problems(
  report: TwinReport,
  expected: { loaded: number; quarantined: number },
  timeLimitMinutes: number,
): string[] {
  const found: string[] = [];
  const checkBoot = (name: string, b: InstanceBoot) => {
    if (b.ended !== 'powered off') found.push(`${name} boot: ${b.ended}, not powered off by shutdown`);
    const calls = bootCalls(timeLimitMinutes);
    if (b.calls.join('\n') !== calls.join('\n')) {
      found.push(`${name} boot: calls were "${b.calls.join(' | ')}", not "${calls.join(' | ')}"`);
    }
  };
  if (report.failedBoot) {
    checkBoot('failing', report.failedBoot);
    if (report.failedBoot.resultKeys.join() !== `${RESULTS_PREFIX}census-etl.log`) found.push(`failing boot: results/ holds ${report.failedBoot.resultKeys.join(', ') || 'nothing'}, not just the log`);
    if (!/SHA-256 is/.test(report.failedBoot.uploadedLog)) found.push('failing boot: the uploaded log does not tell why the loader failed');
  }
  checkBoot('complete', report.boot);
  for (const milestone of Object.keys(MILESTONES)) {
    if (!(milestone in report.boot.milestones)) found.push(`complete boot: never reached "${milestone}"`);
  }
  if (report.counts.loaded !== expected.loaded || report.counts.quarantined !== expected.quarantined) {
    found.push(`synced database: ${report.counts.loaded} loaded, ${report.counts.quarantined} quarantined; expected ${expected.loaded} and ${expected.quarantined}`);
  }
  const failedCommands = report.typed.filter((t) => t.status !== 0 && t.command !== 'npm run logs');
  for (const t of failedCommands) found.push(`\`${t.command}\` exited with ${t.status}`);
  if (!/AccessDenied/.test(report.deniedWrite)) found.push(`role write outside results/: ${report.deniedWrite}`);
  if (report.leftovers.length) found.push(`left in moto after destroy: ${report.leftovers.join(', ')}`);
  return found;
}

/** The whole journey, stage by stage. The caller decides what to assert and prints durations. */
export async function runTwin(settings: TwinSettings): Promise<TwinReport> {
  const twin = new Twin(settings);
  let ok = false;
  try {
    await twin.stage('start moto (IAM enforced), an admin user, a fresh clone', () => twin.start());
    await twin.stage('offline only: terraform init from the provider mirror', () => twin.initOffline());
    let outputs = await twin.stage('npx cdktf deploy', () => twin.deploy());
    const logs = await twin.stage('npm run logs (no SSH settings)', () => twin.logs());
    const deniedWrite = await twin.stage('instance role writes outside results/', () => twin.roleWriteOutsideResults());

    let failedBoot: TwinReport['failedBoot'] = null;
    if (settings.failingBootFirst) {
      const tampered = FILES[1].name;
      twin.replaceRawFile(tampered, Buffer.from('tampered\n'));
      const outcome = await twin.stage(`boot with a tampered ${tampered} (the loader must fail)`, () => twin.boot('failing'));
      failedBoot = { ...outcome, uploadedLog: twin.fetchResult('census-etl.log') };
      twin.replaceRawFile(tampered, null);
      // The instance terminated; a second deploy replaces it, which starts a new run.
      outputs = await twin.stage('npx cdktf deploy again (new instance)', () => twin.deploy());
    }
    const boot = await twin.stage('boot → first batch → publish → power off', () => twin.boot('run'));
    const synced = await twin.stage('npm run sync', () => twin.sync());
    const counts = twin.counts();
    await twin.stage('npx cdktf destroy', () => twin.destroy());
    const leftovers = twin.leftovers();
    ok = true;
    const typed = twin.typed.map(({ command, status }) => ({ command, status }));
    const { stages } = twin;
    return { stages, typed, outputs, logs, failedBoot, boot, synced, counts, leftovers, deniedWrite };
  } finally {
    if (!ok) settings.log(`twin failed; its scratch folder is kept: ${twin.scratchDir}`);
    await twin.stop(!ok);
  }
}
