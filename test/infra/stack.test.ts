/**
 * The stack's security baseline (private encrypted bucket, TLS only, IMDSv2, least-privilege role,
 * SSH only when asked) and its lifecycle, asserted on the synthesized Terraform JSON.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { stateFile } from '../../infra/config.ts';
import { RELEASE_FILES, ROOT, releaseFiles } from '../../infra/layout.ts';
import { AWS_PROVIDER_CONSTRAINT } from '../../infra/stack.ts';
import { only, synth, type Synth } from './synth.ts';

const json = synth();
const instance = only(json, 'aws_instance');
const statements = (policy: string) =>
  JSON.parse(policy).Statement as {
    Effect: string;
    Action: string[];
    Resource?: string[];
    Condition?: unknown;
    Principal?: unknown;
  }[];
const params = (j: Synth) =>
  JSON.parse(Object.values(j.resource.aws_s3_object).find((o) => o.key.endsWith('/params.json'))!.content);

test('bucket: every public access blocked, SSE by default, objects owned by the bucket owner', () => {
  const block = only(json, 'aws_s3_bucket_public_access_block');
  for (const setting of [
    'block_public_acls',
    'block_public_policy',
    'ignore_public_acls',
    'restrict_public_buckets',
  ])
    assert.equal(block[setting], true, setting);
  const sse = only(json, 'aws_s3_bucket_server_side_encryption_configuration');
  assert.equal(sse.rule[0].apply_server_side_encryption_by_default.sse_algorithm, 'AES256');
  assert.equal(only(json, 'aws_s3_bucket_ownership_controls').rule.object_ownership, 'BucketOwnerEnforced');
});

test('bucket policy: denies every request that is not over TLS, on the bucket and its objects', () => {
  const [deny] = statements(only(json, 'aws_s3_bucket_policy').policy);
  assert.equal(deny.Effect, 'Deny');
  assert.equal(deny.Principal, '*');
  assert.deepEqual(deny.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
  assert.equal(deny.Resource!.length, 2);
  assert.ok(
    deny.Resource!.some((r) => r.endsWith('/*')) && deny.Resource!.some((r) => !r.includes('/')),
    'bucket and objects',
  );
});

test('instance: IMDSv2 only, encrypted sized root volume, stops on shutdown, new user-data: new one', () => {
  assert.equal(instance.metadata_options.http_tokens, 'required');
  assert.equal(instance.metadata_options.http_endpoint, 'enabled');
  assert.equal(instance.root_block_device.encrypted, true);
  assert.ok(instance.root_block_device.volume_size >= 8, 'moto and the AL2023 image need 8 GiB or more');
  // Stopped, it stays in the state; terminated, the next deploy would create another (a new run).
  assert.equal(instance.instance_initiated_shutdown_behavior, 'stop');
  assert.equal(instance.user_data_replace_on_change, true);
  assert.equal(instance.instance_type, 't3.micro');
});

/** A terraform_data resource, by its construct path ("loader/ami" is named loader_ami_<hash>). */
const terraformData = (j: Synth, path: string) =>
  Object.entries(j.resource.terraform_data).find(([name]) =>
    name.startsWith(`${path.replace('/', '_')}_`),
  )![1];

test("AMI: Amazon Linux 2023 for the type's architecture, looked up once through SSM and kept", () => {
  const [latest] = Object.values(json.data.aws_ssm_parameter);
  assert.equal(latest.name, '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
  const ami = terraformData(json, 'loader/ami');
  assert.match(ami.input.id, /^\$\{data\.aws_ssm_parameter\.[^.]+\.insecure_value\}$/);
  assert.deepEqual(ami.lifecycle.ignore_changes, ['input'], 'a newer image in SSM changes nothing');
  assert.deepEqual(ami.triggers_replace, { parameter: latest.name }, 'another architecture looks again');
  assert.match(instance.ami, /^\$\{terraform_data\.loader_ami_\w+\.output\.id\}$/);
  for (const type of ['t4g.small', 'a1.medium']) {
    const graviton = Object.values(synth({ CENSUS_INSTANCE_TYPE: type }).data.aws_ssm_parameter)[0];
    assert.equal(graviton.name, '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64', type);
  }
});

test('ingestion date: resolved at the first deploy of the data and kept; new data or a set date: new', () => {
  const date = terraformData(json, 'uploads/ingestion-date');
  assert.deepEqual(date.input, { partition: '${formatdate("YYYY/MM/DD", plantimestamp())}' });
  assert.deepEqual(date.lifecycle.ignore_changes, ['input'], 'a later day changes nothing');
  assert.deepEqual(date.triggers_replace, { raw: `${'0'.repeat(64)} ${'1'.repeat(64)}`, explicit: '' });
  const set = terraformData(synth({ CENSUS_INGESTION_DATE: '2026-03-07' }), 'uploads/ingestion-date');
  assert.deepEqual(set.input, { partition: '2026/03/07' });
  assert.equal(set.triggers_replace.explicit, '2026-03-07');
  assert.ok(
    !/\d{4}\/\d\d\/\d\d/.test(JSON.stringify(json)),
    'no date in the synthesized stack but a set one',
  );
});

test("plan-time checks: EC2 confirms the type's architecture and memory; a default VPC exists", () => {
  const [type] = Object.values(json.data.aws_ec2_instance_type);
  assert.equal(type.instance_type, 't3.micro');
  const [arch, memory] = type.lifecycle.postcondition;
  assert.equal(arch.condition, '${contains(self.supported_architectures, "x86_64")}');
  assert.match(arch.error_message, /derived the architecture x86_64 from the instance type t3\.micro/);
  assert.equal(memory.condition, '${self.memory_size >= 1024}');
  assert.match(memory.error_message, /dnf runs out of memory/);
  const arm = Object.values(synth({ CENSUS_INSTANCE_TYPE: 'a1.large' }).data.aws_ec2_instance_type)[0];
  const [armCheck] = arm.lifecycle.postcondition;
  assert.equal(armCheck.condition, '${contains(self.supported_architectures, "arm64")}');

  const [vpcs] = Object.values(json.data.aws_vpcs);
  assert.deepEqual(vpcs.filter, [{ name: 'is-default', values: ['true'] }]);
  const [vpcCheck] = vpcs.lifecycle.postcondition;
  assert.equal(vpcCheck.condition, '${length(self.ids) == 1}');
  assert.match(vpcCheck.error_message, /has none in us-east-1: create it with `aws ec2 create-default-vpc/);
  assert.match(only(json, 'aws_security_group').vpc_id, /^\$\{element\(data\.aws_vpcs\.[^.]+\.ids, 0\)\}$/);
});

test('state: the local backend writes where sync and logs read, in the project folder', () => {
  type Backend = { terraform: { backend: { local: { path: string } } } };
  const backend = (json as unknown as Backend).terraform.backend.local;
  assert.equal(backend.path, stateFile({}));
  assert.equal(backend.path, path.join(ROOT, 'terraform.census-etl.tfstate'));
  assert.equal(stateFile({ CENSUS_STATE_FILE: 'states/x.tfstate' }), path.join(ROOT, 'states', 'x.tfstate'));
});

test('role policy: no wildcard action; reads exactly the release and raw data; writes results/ only', () => {
  const policy = statements(only(json, 'aws_iam_role_policy').policy);
  const key = (arn: string) => arn.slice(arn.indexOf('}/') + 2);
  for (const s of policy) {
    assert.equal(s.Effect, 'Allow');
    for (const a of s.Action) assert.ok(!a.includes('*'), `action ${a}`);
  }
  const [read, write] = policy;
  assert.deepEqual(read.Action, ['s3:GetObject']);
  const uploaded = Object.values(json.resource.aws_s3_object).map((o) => o.key);
  assert.deepEqual(read.Resource!.map(key).sort(), uploaded.sort(), 'reads exactly what deploy uploads');
  assert.ok(read.Resource!.every((r) => !r.includes('*')));
  assert.deepEqual(write.Action, ['s3:PutObject', 's3:GetObject']);
  assert.deepEqual(
    write.Resource!.map(key),
    ['results/*'],
    'run ids are made at boot: the results prefix, no more',
  );
  assert.equal(policy.length, 2);
  const trust = statements(only(json, 'aws_iam_role').assume_role_policy);
  assert.deepEqual(
    trust.map((s) => s.Principal),
    [{ Service: 'ec2.amazonaws.com' }],
  );
});

test('SSH: no ingress and no key by default; port 22 from the given CIDR only with a key pair', () => {
  const closed = only(json, 'aws_security_group');
  assert.deepEqual(closed.ingress, []);
  assert.equal(instance.key_name, undefined);
  for (const rule of closed.egress)
    assert.deepEqual([rule.from_port, rule.to_port, rule.protocol], [443, 443, 'tcp']);
  assert.match(json.output.ssh_command.value, /^none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR/);

  const open = synth({ CENSUS_SSH_KEY_NAME: 'laptop', CENSUS_SSH_CIDR: '203.0.113.7/32' });
  const [ssh, ...others] = only(open, 'aws_security_group').ingress;
  assert.deepEqual(others, []);
  assert.deepEqual(
    [ssh.from_port, ssh.to_port, ssh.protocol, ssh.cidr_blocks],
    [22, 22, 'tcp', ['203.0.113.7/32']],
  );
  assert.equal(only(open, 'aws_instance').key_name, 'laptop');
  assert.match(open.output.ssh_command.value, /^ssh ec2-user@\$\{aws_instance\..+\.public_dns\}$/);
});

test('outputs: region, release, bucket, instance (id, DNS, created), time limit, ssh, results, role', () => {
  const names = ['bucket', 'instance_created_at', 'instance_id', 'instance_role_arn', 'public_dns', 'region'];
  names.push('release', 'results_uri', 'ssh_command', 'time_limit_minutes');
  assert.deepEqual(Object.keys(json.output).sort(), names);
  assert.equal(synth({ CENSUS_REGION: 'eu-west-3' }).output.region.value, 'eu-west-3');
  assert.match(json.output.release.value, /^[0-9a-f]{16}$/);
  assert.equal(json.output.time_limit_minutes.value, 30 as unknown as string);
  const created = terraformData(json, 'loader/created');
  assert.deepEqual(created.input, { at: '${timestamp()}' });
  assert.deepEqual(created.lifecycle.ignore_changes, ['input']);
  assert.match(
    created.triggers_replace.instance,
    /^\$\{aws_instance\.[^.]+\.id\}$/,
    'a new instance, a new time',
  );
  assert.match(json.output.results_uri.value, /^s3:\/\/\$\{aws_s3_bucket\.[^}]+\.bucket\}\/results\/$/);
});

test('provider: the constraint accepts the mirror 5.100.0; real AWS unless a local endpoint is set', () => {
  assert.equal(json.terraform.required_providers.aws.version, AWS_PROVIDER_CONSTRAINT);
  assert.equal(AWS_PROVIDER_CONSTRAINT, '~> 5.99');
  const [aws] = json.provider.aws;
  assert.equal(aws.region, 'us-east-1');
  assert.equal(aws.endpoints, undefined);

  const local = synth({ CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000' });
  const [emulated] = local.provider.aws as {
    endpoints: Record<string, string>[];
    s3_use_path_style: boolean;
  }[];
  assert.deepEqual(emulated.endpoints, [
    {
      s3: 'http://127.0.0.1:5000',
      ec2: 'http://127.0.0.1:5000',
      iam: 'http://127.0.0.1:5000',
      sts: 'http://127.0.0.1:5000',
      ssm: 'http://127.0.0.1:5000',
    },
  ]);
  assert.equal(emulated.s3_use_path_style, true);
  // moto ignores the policy's condition and would deny everything: left out there, only there.
  assert.equal(local.resource.aws_s3_bucket_policy, undefined);
  // moto launches a subnet-less instance as EC2-Classic: its security groups read back by name.
  assert.deepEqual(only(local, 'aws_instance').lifecycle, { ignore_changes: ['vpc_security_group_ids'] });
  assert.equal(instance.lifecycle, undefined);
});

test('uploads: the release files, the raw zone by date; params name the release, raw keys, results/', () => {
  const keys = Object.values(json.resource.aws_s3_object).map((o) => o.key);
  const release = keys.filter((k) => k.startsWith('runner/')).map((k) => k.replace(/^runner\/\w{16}\//, ''));
  assert.deepEqual(
    release.sort(),
    releaseFiles(false)
      .map((f) => RELEASE_FILES[f])
      .sort(),
  );
  const partition =
    /^raw\/census\/adult\/\$\{terraform_data\.[\w-]+\.output\.partition\}\/Adult\.(data|test)$/;
  assert.equal(keys.filter((k) => partition.test(k)).length, 2);
  const p = params(json);
  assert.ok(
    p.sources.every((s: { uri: string }) => partition.test(s.uri.replace(/^s3:\/\/\$\{[^}]+\}\//, ''))),
  );
  assert.equal(p.release, json.output.release.value);
  assert.deepEqual(
    p.sources.map((s: { sha256: string }) => s.sha256),
    ['0'.repeat(64), '1'.repeat(64)],
  );
  assert.match(p.results, /^s3:\/\/\$\{aws_s3_bucket\.[^}]+\.bucket\}\/results\/$/);
  assert.deepEqual([p.batchSize, p.everySeconds, p.unthrottled], [1630, 10, false]);
});

test('a new bundle or new params make a new release, user-data and run; the same inputs do not', () => {
  const again = synth();
  assert.equal(only(again, 'aws_instance').user_data, instance.user_data, 'deterministic');
  assert.equal(again.output.release.value, json.output.release.value);
  const newBundle = synth({}, 'console.log("runner v2")');
  const newParams = synth({ CENSUS_BATCH_SIZE: '5000' });
  const releases = [json, newBundle, newParams].map((j) => j.output.release.value);
  assert.equal(new Set(releases).size, 3);
  const userData = [json, newBundle, newParams].map((j) => only(j, 'aws_instance').user_data);
  assert.equal(new Set(userData).size, 3);
  assert.ok(
    userData.every((u, i) => u.includes(`-${releases[i]}"`)),
    'run ids end with the release',
  );
});
