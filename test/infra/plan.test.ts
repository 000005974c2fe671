/**
 * What Terraform itself refuses at plan time, before anything is created: an account without a
 * default VPC, an instance type whose architecture EC2 does not confirm, one too small for dnf.
 * Real `terraform plan` and `apply` with the AWS provider against moto.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { App } from 'cdktf';
import { readConfig, type Config } from '../../infra/config.ts';
import type { Emulator } from '../../infra/emulator.ts';
import { STACK_NAME } from '../../infra/layout.ts';
import { offlineTerraformEnv } from '../../twin/mirror.ts';
import { startMoto, type Moto } from '../../twin/moto.ts';
import { tempDir } from '../support/fixtures.ts';
import { startRdsCatalogue, type Offer } from '../support/rds-catalogue.ts';
import { skipUnless } from '../support/tools.ts';
import { testStack } from './synth.ts';

const skip = skipUnless('terraform') || skipUnless('moto_server') || skipUnless('aws');
let moto: Moto;
let env: NodeJS.ProcessEnv;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  env = { ...process.env, ...moto.env, ...offlineTerraformEnv(tempDir()) };
});
after(async () => moto?.stop());

const offline = () => ({ ...process.env, CHECKPOINT_DISABLE: '1' });

type Outcome = { status: number | null; output: string; errors: string };

/**
 * `terraform plan` (or apply) of the stack for `config`: exit code, output, the errors alone.
 * Against moto, or another emulator in front of it (in this process: hence no spawnSync).
 */
async function terraform(
  command: 'plan' | 'apply',
  config: Config,
  emulator: Emulator = { endpoint: moto.endpoint },
): Promise<Outcome> {
  const outdir = tempDir('census-plan-');
  const app = new App({ outdir });
  // Its own state file: a plan must never read the project's.
  testStack(app, {
    ...config,
    stateFile: path.join(outdir, 'plan.tfstate'),
    emulator,
  });
  app.synth();
  const cwd = path.join(outdir, 'stacks', STACK_NAME);
  const tf = (...args: string[]) =>
    spawnSync('terraform', [...args, '-input=false', '-no-color'], { cwd, env, encoding: 'utf8' });
  const init = tf('init');
  assert.equal(init.status, 0, init.stderr);
  const args = [
    command,
    ...(command === 'apply' ? ['-auto-approve'] : ['-lock=false']),
    '-input=false',
    '-no-color',
  ];
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile('terraform', args, { cwd, env, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ status: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    ),
  );
  const output = `${r.stdout}${r.stderr}`.replace(/[\s│]+/g, ' ');
  const errors = output.includes('Error:') ? output.slice(output.indexOf('Error:')) : '';
  return { status: r.status, output, errors };
}

const config = (env: NodeJS.ProcessEnv) => readConfig({ CENSUS_INGESTION_DATE: '2026-03-07', ...env });

test(
  'a plan with a default VPC and a type EC2 confirms succeeds (the checks can pass)',
  { skip },
  async () => {
    const r = await terraform(
      'plan',
      config({ CENSUS_REGION: 'us-east-1', CENSUS_INSTANCE_TYPE: 't4g.micro' }),
    );
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Plan: \d+ to add, 0 to change, 0 to destroy/);
  },
);

/** Deletes the default VPC of `region` (its subnets first), as some accounts have none. */
function deleteDefaultVpc(region: string): void {
  const aws = (...args: string[]) => {
    const r = spawnSync('aws', [...args, '--region', region, '--output', 'text'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const isDefault = 'Name=is-default,Values=true';
  const vpc = aws('ec2', 'describe-vpcs', '--filters', isDefault, '--query', 'Vpcs[0].VpcId');
  const filter = `Name=vpc-id,Values=${vpc}`;
  const subnets = aws('ec2', 'describe-subnets', '--filters', filter, '--query', 'Subnets[].SubnetId');
  for (const subnet of subnets.split(/\s+/).filter(Boolean)) {
    aws('ec2', 'delete-subnet', '--subnet-id', subnet);
  }
  aws('ec2', 'delete-vpc', '--vpc-id', vpc);
}

// One apply for the three refusals (each run takes ten seconds or more): Terraform reads every
// data source and reports every failed postcondition.
const refusals = 'no default VPC, an architecture EC2 does not confirm, a 512 MiB type: apply stops at plan';
test(`${refusals}, saying each`, { skip }, async () => {
  const region = 'eu-north-1';
  deleteDefaultVpc(region);
  // t4g.nano is arm64 with 512 MiB; the architecture is forced wrong, as a faulty derivation would.
  const nano = config({ CENSUS_REGION: region, CENSUS_INSTANCE_TYPE: 't4g.nano' });
  const wrong = { ...nano, architecture: 'x86_64' as const };
  const r = await terraform('apply', wrong);
  assert.equal(r.status, 1);
  assert.match(r.output, /Terraform planned the following actions, but then encountered a problem/);
  const count = ['s3api', 'list-buckets', '--query', 'length(Buckets)', '--output', 'text'];
  const buckets = spawnSync('aws', count, { env, encoding: 'utf8' });
  assert.equal(buckets.stdout.trim(), '0', 'nothing was created');

  const noVpc =
    'census-etl runs its instance in the default VPC, and this account has none in eu-north-1: ' +
    'create it with `aws ec2 create-default-vpc --region eu-north-1`, ' +
    'or choose another region with CENSUS_REGION.';
  assert.ok(r.errors.includes(noVpc), r.errors);
  assert.match(r.errors, /x86_64 from the instance type t4g\.nano, but EC2 says it supports arm64/);
  assert.match(r.errors, /t4g\.nano has 512 MiB of memory; below 1024 MiB, dnf runs out of memory/);
});

const POSTGRES = { CENSUS_DESTINATION: 'postgres' };
const OFFERED: Offer = {
  engine: 'postgres',
  version: '18.1',
  classes: ['db.t4g.micro'],
  storageTypes: ['gp3'],
};

/** A plan of the PostgreSQL stack, with RDS's catalogue played in front of moto (it has none). */
async function planWithCatalogue(offers: Offer[]): Promise<Outcome> {
  const catalogue = await startRdsCatalogue(moto.port, offers);
  try {
    const c = config({ ...POSTGRES, CENSUS_REGION: 'eu-west-3' });
    return await terraform('plan', c, { endpoint: catalogue.endpoint, rdsCatalogue: true });
  } finally {
    await catalogue.close();
  }
}

test(
  'PostgreSQL: a plan RDS offers succeeds (its catalogue stood in for); under moto alone too',
  { skip },
  async () => {
    const r = await planWithCatalogue([{ ...OFFERED, version: '17.6' }, OFFERED]);
    assert.equal(r.status, 0, r.output);
    assert.match(
      r.output,
      /data\.aws_rds_orderable_db_instance\.\S+: Read complete after \S+ \[id=db\.t4g\.micro\]/,
    );
    for (const resource of [
      'aws_db_instance',
      'aws_db_subnet_group',
      'aws_vpc_security_group_ingress_rule',
    ]) {
      assert.match(r.output, new RegExp(`# ${resource}\\.\\S+ will be created`), resource);
    }
    const moto = await terraform('plan', config({ ...POSTGRES, CENSUS_REGION: 'eu-west-3' }));
    assert.equal(moto.status, 0, moto.output);
  },
);

test(
  'PostgreSQL 18 or db.t4g.micro with gp3 not offered in the region: the plan stops there',
  { skip },
  async () => {
    const noVersion = await planWithCatalogue([{ ...OFFERED, version: '17.6' }]);
    assert.equal(noVersion.status, 1);
    assert.match(noVersion.errors, /Error: no RDS engine versions found: /);
    assert.match(noVersion.errors, /with data\.aws_rds_engine_version\.database_postgres-18-offered_/);
    const noClass = await planWithCatalogue([{ ...OFFERED, classes: ['db.t3.micro'] }]);
    assert.equal(noClass.status, 1);
    assert.match(noClass.errors, /Error: no RDS Orderable DB Instance Options found matching criteria/);
    assert.match(
      noClass.errors,
      /with data\.aws_rds_orderable_db_instance\.database_db-t4g-micro-gp3-offered_/,
    );
  },
);

/** Deletes the default subnets of `region` but the first: a default VPC in one zone. */
function oneZoneOnly(region: string): void {
  const aws = (...args: string[]) => {
    const r = spawnSync('aws', [...args, '--region', region, '--output', 'text'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const query = ['--filters', 'Name=default-for-az,Values=true', '--query', 'Subnets[].SubnetId'];
  const [, ...others] = aws('ec2', 'describe-subnets', ...query).split(/\s+/);
  assert.ok(others.length > 0);
  for (const subnet of others) aws('ec2', 'delete-subnet', '--subnet-id', subnet);
}

test(
  'PostgreSQL with default subnets in one zone only: apply stops at plan, saying why',
  { skip },
  async () => {
    const region = 'ca-central-1';
    oneZoneOnly(region);
    const r = await terraform('apply', config({ ...POSTGRES, CENSUS_REGION: region }));
    assert.equal(r.status, 1);
    assert.match(r.output, /Terraform planned the following actions, but then encountered a problem/);
    assert.ok(
      r.errors.includes(
        'An RDS database needs subnets in 2 availability zones at least, ' +
          'and the default VPC in ca-central-1 ' +
          'has default subnets in 1: create one in another zone with `aws ec2 create-default-subnet ' +
          '--availability-zone <zone> --region ca-central-1`, or choose another region with CENSUS_REGION.',
      ),
      r.errors,
    );
    const count = ['rds', 'describe-db-instances', '--region', region, '--query', 'length(DBInstances)'];
    assert.equal(
      spawnSync('aws', [...count, '--output', 'text'], { env, encoding: 'utf8' }).stdout.trim(),
      '0',
    );
  },
);

/**
 * The mechanism that keeps the ingestion date and the AMI (stack.test.ts checks the stack uses
 * it): a terraform_data whose input is ignored once created. A later day, or a newer image,
 * changes its input and nothing happens; a changed trigger (new data, another architecture,
 * `-replace`) makes a new one. Real Terraform, no provider.
 */
test(
  'terraform_data keeps its first input; only a new trigger replaces it',
  { skip: skipUnless('terraform') },
  () => {
    const dir = tempDir('census-kept-');
    const resource = {
      input: { value: '${var.value}' },
      triggers_replace: { trigger: '${var.trigger}' },
      lifecycle: { ignore_changes: ['input'] },
    };
    const config = {
      variable: { value: { type: 'string' }, trigger: { type: 'string' } },
      resource: { terraform_data: { kept: resource } },
      output: { kept: { value: '${terraform_data.kept.output.value}' } },
    };
    writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
    const tf = (...args: string[]) => {
      const r = spawnSync('terraform', [...args, '-no-color'], {
        cwd: dir,
        env: offline(),
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const apply = (value: string, trigger: string) => {
      tf('apply', '-input=false', '-auto-approve', `-var=value=${value}`, `-var=trigger=${trigger}`);
      return tf('output', '-raw', 'kept');
    };
    tf('init', '-input=false');
    assert.equal(apply('2026/11/24', 'data-1'), '2026/11/24');
    const later = tf('plan', '-input=false', '-var=value=2026/11/25', '-var=trigger=data-1');
    assert.match(later, /No changes\./, 'a later day: nothing');
    assert.equal(apply('2026/11/25', 'data-1'), '2026/11/24', 'kept');
    assert.equal(apply('2026/11/26', 'data-2'), '2026/11/26', 'new data: resolved again');
  },
);
