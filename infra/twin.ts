/**
 * The AWS twin (SPEC §5): the cloud journey played on this machine against moto_server, with
 * IAM enforced. Deploy with the real CDKTF app and Terraform AWS provider; boot the instance by
 * running its user-data, read back from EC2, in a scratch root with the instance role's
 * credentials and shims for dnf, systemctl and shutdown only; sync the results; destroy; check
 * that nothing is left. Each stage is timed; each fact worth checking is returned.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startMoto, type Moto } from './moto.ts';
import { FILES } from '../runner/dataset.ts';
import { ENV } from './config.ts';
import { INSTANCE, RESULTS_PREFIX, ROOT, STACK_NAME, rawKey } from './layout.ts';
import { readOutputs, type StackOutputs } from './outputs.ts';

export type TwinSettings = {
  batchSize: number;
  everySeconds: number;
  timeLimitMinutes: number;
  /** Folder holding Adult.data and Adult.test (deploy uploads them to the raw zone). */
  dataDir: string;
  /** Boot once with a tampered raw file first: the loader fails, the log must still arrive. */
  failingBootFirst: boolean;
  log: (line: string) => void;
};

export type BootOutcome = {
  /** How the boot ended: "powered off" when shutdown ran, else the exit code or signal. */
  ended: string;
  /** Shim calls in order: "dnf install ...", "systemctl start ...", "shutdown -h now". */
  calls: string[];
  /** The loader's log file on the instance. */
  log: string;
  /** Keys under results/ right after the boot. */
  resultKeys: string[];
};

export type TwinReport = {
  stages: { name: string; ms: number }[];
  outputs: StackOutputs;
  failedBoot: (BootOutcome & { uploadedLog: string }) | null;
  boot: BootOutcome;
  synced: string[];
  counts: { loaded: number; quarantined: number };
  /** Stack resources still in moto after destroy (should be none). */
  leftovers: string[];
  /** Role credentials writing outside results/: the error moto gave (should be AccessDenied). */
  deniedWrite: string;
};

const SHIMS = path.join(ROOT, 'infra', 'twin-shims');
const CDKTF = path.join(ROOT, 'node_modules', '.bin', 'cdktf');
const TF_CLI_CONFIG = path.join(ROOT, 'infra', 'terraform.tfrc');
const REGION = 'us-east-1';
/** CreateUser, PutUserPolicy, CreateAccessKey: then moto enforces IAM on every request. */
const BOOTSTRAP_CALLS = 3;

type Credentials = { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_SESSION_TOKEN?: string };

/** Nothing of the user's AWS setup (profiles, keys, region) may leak into the twin. */
function isolatedEnv(moto: Moto, credentials: Credentials): NodeJS.ProcessEnv {
  const own = Object.entries(process.env).filter(([k]) => !/^(AWS_|CENSUS_|TF_)/.test(k));
  return {
    ...Object.fromEntries(own),
    ...moto.env,
    AWS_DEFAULT_REGION: moto.env.AWS_REGION,
    ...credentials,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    CHECKPOINT_DISABLE: '1',
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
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

/**
 * Role credentials as the instance gets them from IMDS: an STS session of its profile's role.
 * moto lets no service principal assume a role (a trust policy naming ec2.amazonaws.com only
 * fails there), so the twin's admin stands in for EC2: it takes the place of the service in
 * the trust policy. The permissions policy, the thing under test, is left as deployed.
 */
function instanceCredentials(admin: NodeJS.ProcessEnv, adminArn: string, instanceId: string): Credentials {
  const described = aws(admin, 'ec2', 'describe-instances', '--instance-ids', instanceId);
  const profileArn: string = described.Reservations[0].Instances[0].IamInstanceProfile.Arn;
  const profile = aws(admin, 'iam', 'get-instance-profile', '--instance-profile-name', profileArn.split('/').pop()!);
  const role: { Arn: string; RoleName: string } = profile.InstanceProfile.Roles[0];
  const ec2StandIn = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'sts:AssumeRole' }] };
  aws(admin, 'iam', 'update-assume-role-policy', '--role-name', role.RoleName, '--policy-document', JSON.stringify(ec2StandIn));
  const { Credentials: c } = aws(admin, 'sts', 'assume-role', '--role-arn', role.Arn, '--role-session-name', instanceId);
  return { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.SessionToken };
}

/** Filtered here: moto rejects the signature of AWS CLI v1 when a prefix holds a "/". */
const listKeys = (env: NodeJS.ProcessEnv, bucket: string, prefix: string): string[] =>
  (aws(env, 's3api', 'list-objects-v2', '--bucket', bucket).Contents ?? [])
    .map((o: { Key: string }) => o.Key)
    .filter((k: string) => k.startsWith(prefix))
    .sort();

function nodeIs20(): void {
  const version = run('node', ['--version'], process.env).trim();
  if (!version.startsWith('v20.')) throw new Error(`the instance runs Node 20 (nodejs20); this machine's node is ${version}`);
}

export class Twin {
  readonly stages: { name: string; ms: number }[] = [];
  private readonly scratch = mkdtempSync(path.join(os.tmpdir(), 'census-twin-'));
  private readonly stateFile = path.join(this.scratch, 'terraform.tfstate');
  private readonly outDir = path.join(this.scratch, 'cdktf.out');
  private moto!: Moto;
  private admin!: NodeJS.ProcessEnv;
  private adminArn!: string;
  private ingestionDate = new Date().toISOString().slice(0, 10);

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

  /** moto with IAM enforced after the first calls, which create an admin user (inline policy). */
  async start(): Promise<void> {
    nodeIs20();
    this.moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_CALLS) });
    const anonymous = isolatedEnv(this.moto, { AWS_ACCESS_KEY_ID: 'bootstrap', AWS_SECRET_ACCESS_KEY: 'bootstrap' });
    const admin = 'twin-admin';
    this.adminArn = aws(anonymous, 'iam', 'create-user', '--user-name', admin).User.Arn;
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    aws(anonymous, 'iam', 'put-user-policy', '--user-name', admin, '--policy-name', 'admin', '--policy-document', JSON.stringify(everything));
    const { AccessKey: key } = aws(anonymous, 'iam', 'create-access-key', '--user-name', admin);
    this.admin = isolatedEnv(this.moto, { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey });
  }

  /** The user's settings, as the user sets them, plus the switch to the local endpoint. */
  private deployEnv(): NodeJS.ProcessEnv {
    const { batchSize, everySeconds, timeLimitMinutes, dataDir } = this.settings;
    return {
      ...this.admin,
      [ENV.region]: REGION,
      [ENV.batchSize]: String(batchSize),
      [ENV.everySeconds]: String(everySeconds),
      [ENV.timeLimitMinutes]: String(timeLimitMinutes),
      [ENV.dataDir]: dataDir,
      [ENV.ingestionDate]: this.ingestionDate,
      [ENV.localEndpoint]: this.moto.endpoint,
      [ENV.stateFile]: this.stateFile,
      TF_CLI_CONFIG_FILE: TF_CLI_CONFIG,
    };
  }

  /** synth, `terraform init` from the mirror (it writes the lock file), then `cdktf deploy`. */
  deploy(): StackOutputs {
    const env = this.deployEnv();
    run(CDKTF, ['synth', '--output', this.outDir], env);
    run('terraform', ['init', '-input=false', '-no-color'], env, path.join(this.outDir, 'stacks', STACK_NAME));
    run(CDKTF, ['deploy', STACK_NAME, '--output', this.outDir, '--skip-synth', '--auto-approve'], env);
    return this.outputs();
  }

  outputs(): StackOutputs {
    return readOutputs({ [ENV.stateFile]: this.stateFile });
  }

  /** Replaces a raw file's object with other bytes (or puts the real file back). */
  replaceRawFile(name: string, bytes: Buffer | null): void {
    const body = path.join(this.scratch, `${name}.body`);
    writeFileSync(body, bytes ?? readFileSync(path.join(this.settings.dataDir, name)));
    const key = rawKey(this.ingestionDate, name);
    aws(this.admin, 's3api', 'put-object', '--bucket', this.outputs().bucket, '--key', key, '--body', body);
  }

  /**
   * One boot of the instance: its user-data, fetched from EC2, run by bash in a private mount
   * namespace where /opt, /var/log and /etc/systemd/system are scratch folders, so every path
   * is the instance's own. The shims come first on PATH; the role's credentials are the only
   * ones. Ends when shutdown powers off (or the time limit kills it), then EC2 does what the
   * instance's shutdown behaviour says.
   */
  async boot(name: string): Promise<BootOutcome> {
    const { instance_id: instanceId, bucket } = this.outputs();
    const dir = path.join(this.scratch, `boot-${name}`);
    const mounts = { opt: '/opt', log: '/var/log', units: INSTANCE.unitDir };
    for (const target of Object.values(mounts)) {
      if (!existsSync(target)) throw new Error(`the twin mounts a scratch folder over ${target}, which this machine lacks`);
    }
    const bin = path.join(dir, 'bin');
    for (const sub of [...Object.keys(mounts), 'bin']) mkdirSync(path.join(dir, sub), { recursive: true });
    for (const shim of readdirSync(SHIMS)) {
      copyFileSync(path.join(SHIMS, shim), path.join(bin, shim));
      chmodSync(path.join(bin, shim), 0o755);
    }
    const attribute = aws(this.admin, 'ec2', 'describe-instance-attribute', '--instance-id', instanceId, '--attribute', 'userData');
    const script = path.join(dir, 'user-data');
    writeFileSync(script, Buffer.from(attribute.UserData.Value, 'base64'));

    const calls = path.join(dir, 'calls');
    writeFileSync(calls, '');
    // No region either: an instance has none in its environment, the user-data must set it.
    const env: NodeJS.ProcessEnv = {
      ...isolatedEnv(this.moto, instanceCredentials(this.admin, this.adminArn, instanceId)),
      PATH: `${bin}:${process.env.PATH}`,
      TWIN_CALLS: calls,
    };
    delete env.AWS_REGION;
    delete env.AWS_DEFAULT_REGION;
    const mountAll = Object.keys(mounts)
      .map((k, i) => `mount --bind "\${${i + 1}}" "${mounts[k as keyof typeof mounts]}"`)
      .join(' && ');
    const asRoot = process.getuid?.() === 0 ? [] : ['--map-root-user'];
    const child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', ...asRoot, 'bash', '-c', `${mountAll} && exec bash "$4"`, 'boot', ...Object.keys(mounts).map((k) => path.join(dir, k)), script],
      { env, detached: true, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), this.settings.timeLimitMinutes * 60_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(limit);

    const callList = readFileSync(calls, 'utf8').split('\n').filter(Boolean);
    const poweredOff = signal === 'SIGTERM' && callList.at(-1) === 'shutdown -h now';
    const behaviour = aws(this.admin, 'ec2', 'describe-instance-attribute', '--instance-id', instanceId, '--attribute', 'instanceInitiatedShutdownBehavior');
    if (poweredOff && behaviour.InstanceInitiatedShutdownBehavior.Value === 'terminate') {
      aws(this.admin, 'ec2', 'terminate-instances', '--instance-ids', instanceId);
    }
    const logFile = path.join(dir, 'log', path.relative('/var/log', INSTANCE.log));
    return {
      ended: poweredOff ? 'powered off' : signal ? `killed by ${signal}` : `exited with ${code}`,
      calls: callList,
      log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
      resultKeys: listKeys(this.admin, bucket, RESULTS_PREFIX),
    };
  }

  /** What the user's `aws s3 cp` of the log gives after a failed run. */
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
    const role = isolatedEnv(this.moto, instanceCredentials(this.admin, this.adminArn, instanceId));
    const r = spawnSync('aws', ['s3api', 'put-object', '--bucket', bucket, '--key', 'runner/intruder.json', '--body', body], { env: role, encoding: 'utf8' });
    return r.status === 0 ? 'allowed' : r.stderr.trim();
  }

  /** `npm run sync`, as the user runs it, into a scratch results folder. */
  sync(): string[] {
    const out = path.join(this.scratch, 'results');
    const env = { ...this.admin, [ENV.stateFile]: this.stateFile };
    return run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'sync.ts'), '--out', out], env).trim().split('\n');
  }

  counts(): { loaded: number; quarantined: number } {
    const db = new Database(path.join(this.scratch, 'results', 'census.db'), { readonly: true });
    try {
      const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      return { loaded: count('adult'), quarantined: count('quarantine') };
    } finally {
      db.close();
    }
  }

  destroy(): void {
    run(CDKTF, ['destroy', STACK_NAME, '--output', this.outDir, '--skip-synth', '--auto-approve'], this.deployEnv());
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

/** What went wrong, as sentences; empty when the journey is as it must be. */
export function problems(report: TwinReport, expected: { loaded: number; quarantined: number }): string[] {
  const found: string[] = [];
  const checkBoot = (name: string, b: BootOutcome) => {
    if (b.ended !== 'powered off') found.push(`${name} boot: ${b.ended}, not powered off by shutdown`);
    if (!/^shutdown -h \+\d+$/.test(b.calls[0] ?? '')) found.push(`${name} boot: the first call was "${b.calls[0]}", not the time limit`);
    const now = b.calls.filter((c) => c === 'shutdown -h now').length;
    if (now !== 1) found.push(`${name} boot: shutdown -h now called ${now} times`);
  };
  if (report.failedBoot) {
    checkBoot('failing', report.failedBoot);
    if (report.failedBoot.resultKeys.join() !== `${RESULTS_PREFIX}census-etl.log`) found.push(`failing boot: results/ holds ${report.failedBoot.resultKeys.join(', ') || 'nothing'}, not just the log`);
    if (!/SHA-256 is/.test(report.failedBoot.uploadedLog)) found.push('failing boot: the uploaded log does not tell why the loader failed');
  }
  checkBoot('complete', report.boot);
  if (report.counts.loaded !== expected.loaded || report.counts.quarantined !== expected.quarantined) {
    found.push(`synced database: ${report.counts.loaded} loaded, ${report.counts.quarantined} quarantined; expected ${expected.loaded} and ${expected.quarantined}`);
  }
  if (!/AccessDenied/.test(report.deniedWrite)) found.push(`role write outside results/: ${report.deniedWrite}`);
  if (report.leftovers.length) found.push(`left in moto after destroy: ${report.leftovers.join(', ')}`);
  return found;
}

/** The whole journey, stage by stage. The caller decides what to assert and prints durations. */
export async function runTwin(settings: TwinSettings): Promise<TwinReport> {
  const twin = new Twin(settings);
  let ok = false;
  try {
    await twin.stage('start moto (IAM enforced) and bootstrap an admin user', () => twin.start());
    let outputs = await twin.stage('cdktf deploy', () => twin.deploy());
    const deniedWrite = await twin.stage('instance role writes outside results/', () => twin.roleWriteOutsideResults());

    let failedBoot: TwinReport['failedBoot'] = null;
    if (settings.failingBootFirst) {
      const tampered = FILES[1].name;
      twin.replaceRawFile(tampered, Buffer.from('tampered\n'));
      const outcome = await twin.stage(`boot with a tampered ${tampered} (the loader must fail)`, () => twin.boot('failing'));
      failedBoot = { ...outcome, uploadedLog: twin.fetchResult('census-etl.log') };
      twin.replaceRawFile(tampered, null);
      // The instance terminated; a second deploy replaces it, which starts a new run.
      outputs = await twin.stage('cdktf deploy again (new instance)', () => twin.deploy());
    }
    const boot = await twin.stage('boot: user-data runs the loader to completion', () => twin.boot('complete'));
    const synced = await twin.stage('npm run sync', () => twin.sync());
    const counts = twin.counts();
    await twin.stage('cdktf destroy', () => twin.destroy());
    const leftovers = twin.leftovers();
    ok = true;
    return { stages: twin.stages, outputs, failedBoot, boot, synced, counts, leftovers, deniedWrite };
  } finally {
    if (!ok) settings.log(`twin failed; its scratch folder is kept: ${twin.scratchDir}`);
    await twin.stop(!ok);
  }
}
