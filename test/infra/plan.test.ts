/**
 * What Terraform itself refuses at plan time, before anything is created: an account without a
 * default VPC, an instance type whose architecture EC2 does not confirm, one too small for dnf.
 * Real `terraform plan` and `apply` with the AWS provider against moto.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { App } from 'cdktf';
import { readConfig, type Config } from '../../infra/config.ts';
import { STACK_NAME } from '../../infra/layout.ts';
import { offlineTerraformEnv } from '../../twin/mirror.ts';
import { startMoto, type Moto } from '../../twin/moto.ts';
import { tempDir } from '../support/fixtures.ts';
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

/** `terraform plan` (or apply) of the stack for `config`: exit code, output, the errors alone. */
function terraform(command: 'plan' | 'apply', config: Config): Outcome {
  const outdir = tempDir('census-plan-');
  const app = new App({ outdir });
  // Its own state file: a plan must never read the project's.
  testStack(app, {
    ...config,
    stateFile: path.join(outdir, 'plan.tfstate'),
    emulator: { endpoint: moto.endpoint },
  });
  app.synth();
  const cwd = path.join(outdir, 'stacks', STACK_NAME);
  const tf = (...args: string[]) =>
    spawnSync('terraform', [...args, '-input=false', '-no-color'], { cwd, env, encoding: 'utf8' });
  const init = tf('init');
  assert.equal(init.status, 0, init.stderr);
  const r = tf(command, ...(command === 'apply' ? ['-auto-approve'] : ['-lock=false']));
  const output = `${r.stdout}${r.stderr}`.replace(/[\s│]+/g, ' ');
  const errors = output.includes('Error:') ? output.slice(output.indexOf('Error:')) : '';
  return { status: r.status, output, errors };
}

const config = (env: NodeJS.ProcessEnv) => readConfig({ CENSUS_INGESTION_DATE: '2026-03-07', ...env });

test('a plan with a default VPC and a type EC2 confirms succeeds (the checks can pass)', { skip }, () => {
  const r = terraform('plan', config({ CENSUS_REGION: 'us-east-1', CENSUS_INSTANCE_TYPE: 't4g.micro' }));
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /Plan: \d+ to add, 0 to change, 0 to destroy/);
});

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
test(`${refusals}, saying each`, { skip }, () => {
  const region = 'eu-north-1';
  deleteDefaultVpc(region);
  // t4g.nano is arm64 with 512 MiB; the architecture is forced wrong, as a faulty derivation would.
  const nano = config({ CENSUS_REGION: region, CENSUS_INSTANCE_TYPE: 't4g.nano' });
  const wrong = { ...nano, architecture: 'x86_64' as const };
  const r = terraform('apply', wrong);
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
