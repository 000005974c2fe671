/**
 * The AWS twin: the machinery to play the user's cloud journey on this machine, with no AWS,
 * against moto_server, with IAM enforced. In a fresh clone of the project, the commands of
 * docs/aws.md typed verbatim (user.ts, commands.ts); the instance's user-data, read back from
 * EC2, booted on a machine as bare as Amazon Linux 2023 with the instance role's credentials
 * only (instance.ts), after which EC2 does what the shutdown behaviour says; what S3 and EC2
 * hold, read with the admin's keys. The journey itself is journey.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RUN_ID, type RunDocument } from '../runner/publish/results.ts';
import { q } from '../runner/shared/sql.ts';
import { ENV } from '../infra/config.ts';
import { RESULTS_PREFIX, STACK_NAME } from '../infra/layout.ts';
import { offlineTerraformEnv } from './mirror.ts';
import { EC2_ASSUME_ROLE } from '../infra/policy.ts';
import { startMoto, type Moto } from './moto.ts';
import { readOutputs, type StackOutputs } from '../scripts/lib/outputs.ts';
import { bootInstance, type BootOutcome } from './instance.ts';
import { makeCa, serveRdsDatabase, type Ca, type ServedDatabase, type TwinPostgres } from './postgres.ts';
import { UserShell, cloneProject, type Typed } from './user.ts';

/** The settings the twin's user exports, as docs/aws.md documents them. */
export type UserSettings = {
  /** The stack's region (CENSUS_REGION); the user's shell has no AWS_REGION. */
  region: string;
  batchSize: number;
  everySeconds: number;
  timeLimitMinutes: number;
  /** Folder holding Adult.data and Adult.test (deploy uploads them to the raw zone). */
  dataDir: string;
  /**
   * CENSUS_DESTINATION=postgres: the user also sets CENSUS_DB_CA_BUNDLE to the twin's CA, which
   * stands in for RDS's (postgres.ts).
   */
  postgres?: boolean;
};

/** A boot of the instance: which instance, the run it made (and its run.json), results/ after it. */
export type InstanceBoot = BootOutcome & {
  instanceId: string;
  run: string | null;
  doc: RunDocument | null;
  resultKeys: string[];
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
    const how = r.error?.message ?? `exit ${r.status}`;
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${how}):\n${output}`);
  }
  return r.stdout;
}

/**
 * The AWS CLI against moto, JSON out. The endpoint given on the command line too: AWS CLI v1
 * sends RDS's commands in us-east-1 to rds.amazonaws.com whatever AWS_ENDPOINT_URL says.
 */
const aws = (env: NodeJS.ProcessEnv, ...args: string[]) => {
  const out = run('aws', [...args, '--output', 'json', '--endpoint-url', env.AWS_ENDPOINT_URL!], env);
  return out.trim() ? JSON.parse(out) : {};
};

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
  /** The CA that signs the twin database's certificate, standing in for RDS's (postgres only). */
  private ca: Ca | null = null;
  private served: { spec: ServedDatabase; server: TwinPostgres } | null = null;

  constructor(
    private readonly settings: UserSettings,
    private readonly log: (line: string) => void,
  ) {}

  get scratchDir(): string {
    return this.scratch;
  }

  async stage<T>(name: string, body: () => T | Promise<T>): Promise<T> {
    this.log(`▶ ${name}`);
    const started = performance.now();
    const result = await body();
    const ms = performance.now() - started;
    this.stages.push({ name, ms });
    this.log(`✔ ${name} (${(ms / 1000).toFixed(1)} s)`);
    return result;
  }

  /** The AWS CLI's environment with `credentials`, in the stack's region. */
  private cliEnv(credentials: Credentials): NodeJS.ProcessEnv {
    return { ...ownEnv(), ...awsEnv(this.moto, credentials), AWS_DEFAULT_REGION: this.settings.region };
  }

  private adminCli(...args: string[]) {
    return aws(this.admin, ...args);
  }

  /** moto with IAM enforced after the first calls, which create an admin user; a fresh clone. */
  async start(): Promise<void> {
    this.moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_CALLS) });
    const anonymous = this.cliEnv({ AWS_ACCESS_KEY_ID: 'bootstrap', AWS_SECRET_ACCESS_KEY: 'bootstrap' });
    const admin = 'twin-admin';
    this.adminArn = aws(anonymous, 'iam', 'create-user', '--user-name', admin).User.Arn;
    const everything = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    aws(
      anonymous,
      'iam',
      'put-user-policy',
      '--user-name',
      admin,
      '--policy-name',
      'admin',
      '--policy-document',
      everything,
    );
    const { AccessKey: key } = aws(anonymous, 'iam', 'create-access-key', '--user-name', admin);
    const adminKeys = { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey };
    this.admin = this.cliEnv(adminKeys);

    mkdirSync(this.project);
    cloneProject(this.project);
    // The user's shell: their credentials, the settings docs/aws.md documents, and the switch
    // to the local endpoint (CENSUS_AWS_ENDPOINT for the provider, AWS_ENDPOINT_URL for the SDK
    // and CLI), plus the offline provider mirror. No AWS_REGION: the stack's region is an output.
    const { region, batchSize, everySeconds, timeLimitMinutes, dataDir } = this.settings;
    if (this.settings.postgres) this.ca = makeCa(path.join(this.scratch, 'ca'), 'rds-stand-in');
    const settings = {
      [ENV.region]: region,
      [ENV.batchSize]: String(batchSize),
      [ENV.everySeconds]: String(everySeconds),
      [ENV.timeLimitMinutes]: String(timeLimitMinutes),
      [ENV.dataDir]: dataDir,
      [ENV.emulatorEndpoint]: this.moto.endpoint,
      ...(this.ca && { [ENV.destination]: 'postgres', [ENV.dbCaBundle]: this.ca.cert }),
    };
    this.log(
      `user's settings: ${Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    const offline = offlineTerraformEnv(this.scratch);
    const env = { ...ownEnv(), ...awsEnv(this.moto, adminKeys), ...settings, ...offline };
    this.user = new UserShell(this.project, env, path.join(this.scratch, 'transcript.txt'), this.log);
  }

  /** Types `command` as the user; unless `mayFail`, a failure ends the journey. */
  async type(command: string, o: { mayFail?: boolean; watch?: Record<string, RegExp> } = {}): Promise<Typed> {
    const typed = await this.user.type(command, o.watch);
    this.typed.push(typed);
    if (typed.status !== 0 && !o.mayFail) {
      const tail = typed.output.trim().split('\n').slice(-30).join('\n');
      throw new Error(
        `\`${command}\` failed (exit ${typed.status}); transcript in ${this.scratch}:\n${tail}`,
      );
    }
    return typed;
  }

  /** The user changes a setting (it stays set for the commands that follow). */
  export(name: string, value: string): void {
    this.user.export(name, value);
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

  /** The outputs, from the state file where the user's deploy put it. */
  outputs(): StackOutputs {
    return readOutputs({}, this.project);
  }

  /** Every run under results/, oldest first. */
  runs(): string[] {
    const keys = this.keys(RESULTS_PREFIX).map((k) => k.slice(RESULTS_PREFIX.length).split('/')[0]);
    return [...new Set(keys)].filter((r) => RUN_ID.test(r)).sort();
  }

  /** Keys of the bucket under `prefix` (filtered here: moto rejects the signature of a prefix with "/"). */
  keys(prefix: string): string[] {
    const listed = this.adminCli('s3api', 'list-objects-v2', '--bucket', this.outputs().bucket);
    return (listed.Contents ?? [])
      .map((o: { Key: string }) => o.Key)
      .filter((k: string) => k.startsWith(prefix))
      .sort();
  }

  /** An object of the bucket, as text. */
  object(key: string): string {
    const file = path.join(this.scratch, 'object');
    this.adminCli('s3api', 'get-object', '--bucket', this.outputs().bucket, '--key', key, file);
    return readFileSync(file, 'utf8');
  }

  /** Replaces a raw file's object with other bytes (or puts the real file back). */
  replaceRawFile(name: string, bytes: Buffer | null): void {
    const body = path.join(this.scratch, `${name}.body`);
    writeFileSync(body, bytes ?? readFileSync(path.join(this.settings.dataDir, name)));
    const [key] = this.keys('raw/').filter((k) => k.endsWith(`/${name}`));
    this.adminCli('s3api', 'put-object', '--bucket', this.outputs().bucket, '--key', key, '--body', body);
  }

  /** The instance's state in EC2 (pending, running, stopped, terminated...). */
  instanceState(id: string): string {
    return this.adminCli('ec2', 'describe-instances', '--instance-ids', id).Reservations[0].Instances[0].State
      .Name;
  }

  /**
   * Role credentials as the instance gets them from IMDS: an STS session of its profile's role.
   * moto lets no service principal assume a role (a trust policy naming ec2.amazonaws.com only
   * fails there), so the twin's admin stands in for EC2: it takes the place of the service in
   * the trust policy just long enough to take the role, which then gets its deployed trust
   * policy back (else the next deploy would see it changed). The permissions policy, the thing
   * under test, is left as deployed.
   */
  private instanceCredentials(instanceId: string): Credentials {
    const described = this.adminCli('ec2', 'describe-instances', '--instance-ids', instanceId);
    const profileArn: string = described.Reservations[0].Instances[0].IamInstanceProfile.Arn;
    const profileName = profileArn.split('/').pop()!;
    const profile = this.adminCli('iam', 'get-instance-profile', '--instance-profile-name', profileName);
    const role: { Arn: string; RoleName: string } = profile.InstanceProfile.Roles[0];
    const standIn = { Effect: 'Allow', Principal: { AWS: this.adminArn }, Action: 'sts:AssumeRole' };
    const trust = (policy: object) => {
      const document = ['--policy-document', JSON.stringify(policy)];
      this.adminCli('iam', 'update-assume-role-policy', '--role-name', role.RoleName, ...document);
    };
    trust({ Version: '2012-10-17', Statement: [standIn] });
    const session = ['--role-arn', role.Arn, '--role-session-name', instanceId];
    const assumed = this.adminCli('sts', 'assume-role', ...session);
    trust(EC2_ASSUME_ROLE);
    const { Credentials: c } = assumed;
    return {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: c.SessionToken,
    };
  }

  /**
   * One boot of the deployed instance: its user-data, fetched from EC2, run on the bare twin
   * instance with the role's credentials. Then EC2 does what the shutdown behaviour says.
   */
  async boot(name: string, watchdogSeconds?: number): Promise<InstanceBoot> {
    const { instance_id: id } = this.outputs();
    const attribute = (which: string) =>
      this.adminCli('ec2', 'describe-instance-attribute', `--attribute=${which}`, `--instance-id=${id}`);
    const before = new Set(this.runs());
    const outcome = await bootInstance({
      dir: path.join(this.scratch, `boot-${name}`),
      userData: Buffer.from(attribute('userData').UserData.Value, 'base64').toString('utf8'),
      aws: awsEnv(this.moto, this.instanceCredentials(id)),
      s3Port: this.moto.port,
      timeLimitMs: this.settings.timeLimitMinutes * 60_000,
      database: this.served && {
        host: this.served.spec.host,
        port: this.served.spec.port,
        serverPort: this.served.server.serverPort,
      },
      watch: MILESTONES,
      watchdogSeconds,
    });
    if (outcome.ended === 'powered off') {
      const behaviour = attribute('instanceInitiatedShutdownBehavior').InstanceInitiatedShutdownBehavior
        .Value;
      this.adminCli(
        'ec2',
        behaviour === 'terminate' ? 'terminate-instances' : 'stop-instances',
        '--instance-ids',
        id,
      );
    }
    for (const line of timeline(outcome.log)) this.log(`  ${line}`);
    const at = Object.entries(outcome.milestones).map(([what, ms]) => `${what} +${(ms / 1000).toFixed(1)} s`);
    const seconds = (outcome.ms / 1000).toFixed(1);
    this.log(`  boot ${outcome.ended} after ${seconds} s; ${at.join(', ') || 'no milestone'}`);
    const made = this.runs().filter((r) => !before.has(r));
    const runId = made.length === 1 ? made[0] : null;
    const doc = runId ? (JSON.parse(this.object(`${RESULTS_PREFIX}${runId}/run.json`)) as RunDocument) : null;
    const resultKeys = runId ? this.keys(`${RESULTS_PREFIX}${runId}/`) : [];
    return { ...outcome, instanceId: id, run: runId, doc, resultKeys };
  }

  /** RDS's data plane, which moto lacks: the twin's PostgreSQL behind the deployed database (postgres.ts). */
  async serveDatabase(): Promise<ServedDatabase> {
    if (!this.ca) throw new Error('the twin serves a database to a postgres journey only');
    this.served = await serveRdsDatabase((...args) => this.adminCli(...args), this.ca);
    const { user, host, port, database } = this.served.spec;
    this.log(`  PostgreSQL for ${user}@${host}:${port}/${database}, TLS only, its certificate the twin CA's`);
    return this.served.spec;
  }

  /** SQL on the twin's database, as its superuser (unaligned tuples). */
  databaseSql(statement: string): string {
    if (!this.served) throw new Error('no database served');
    return this.served.server.sql(statement);
  }

  /** The instance role writing where it must not: the error it gets. */
  roleWriteOutsideResults(): string {
    const { bucket, instance_id: instanceId } = this.outputs();
    const body = path.join(this.scratch, 'intruder');
    writeFileSync(body, 'not a result');
    const role = this.cliEnv(this.instanceCredentials(instanceId));
    const args = ['s3api', 'put-object', '--bucket', bucket, '--key', 'runner/intruder.json', '--body', body];
    const r = spawnSync('aws', args, { env: role, encoding: 'utf8' });
    return r.status === 0 ? 'allowed' : r.stderr.trim();
  }

  /** Rows of the synced database of `run` (npm run sync writes it into results/<run>/). */
  counts(runId: string): { loaded: number; quarantined: number } {
    const rows = this.rowCounts(runId, ['adult', 'quarantine']);
    return { loaded: rows.adult, quarantined: rows.quarantine };
  }

  /** The row counts of `tables` in a run's synced census.db. */
  rowCounts(runId: string, tables: string[]): Record<string, number> {
    const db = new Database(path.join(this.project, 'results', runId, 'census.db'), { readonly: true });
    try {
      const count = (table: string) =>
        db
          .prepare(`SELECT count(*) FROM ${q(table)}`)
          .pluck()
          .get() as number;
      return Object.fromEntries(tables.map((t) => [t, count(t)]));
    } finally {
      db.close();
    }
  }

  /**
   * Anything of the stack still in moto: buckets, roles, profiles, security groups, live
   * instances, databases, DB subnet groups, secrets.
   */
  leftovers(): string[] {
    type Named = { RoleName: string; InstanceProfileName: string; GroupName: string };
    type Ec2 = { InstanceId: string; State: { Name: string } };
    const a = (...args: string[]) => this.adminCli(...args);
    const buckets = (a('s3api', 'list-buckets').Buckets ?? []).map(
      (b: { Name: string }) => `bucket ${b.Name}`,
    );
    const roles = a('iam', 'list-roles')
      .Roles.filter((r: Named) => r.RoleName.startsWith('census-etl'))
      .map((r: Named) => `role ${r.RoleName}`);
    const profiles = a('iam', 'list-instance-profiles').InstanceProfiles.map(
      (p: Named) => `instance profile ${p.InstanceProfileName}`,
    );
    const groups = a('ec2', 'describe-security-groups')
      .SecurityGroups.filter((g: Named) => g.GroupName !== 'default')
      .map((g: Named) => `security group ${g.GroupName}`);
    const instances = a('ec2', 'describe-instances')
      .Reservations.flatMap((r: { Instances: Ec2[] }) => r.Instances)
      .filter((i: Ec2) => i.State.Name !== 'terminated')
      .map((i: Ec2) => `instance ${i.InstanceId} (${i.State.Name})`);
    const databases = a('rds', 'describe-db-instances').DBInstances.map(
      (d: { DBInstanceIdentifier: string }) => `database ${d.DBInstanceIdentifier}`,
    );
    const subnetGroups = a('rds', 'describe-db-subnet-groups').DBSubnetGroups.map(
      (g: { DBSubnetGroupName: string }) => `DB subnet group ${g.DBSubnetGroupName}`,
    );
    const secrets = a('secretsmanager', 'list-secrets').SecretList.map(
      (x: { Name: string }) => `secret ${x.Name}`,
    );
    return [
      ...buckets,
      ...roles,
      ...profiles,
      ...groups,
      ...instances,
      ...databases,
      ...subnetGroups,
      ...secrets,
    ];
  }

  async stop(keepScratch: boolean): Promise<void> {
    this.served?.server.stop();
    await this.moto?.stop();
    if (!keepScratch) rmSync(this.scratch, { recursive: true, force: true });
  }
}
