/**
 * CENSUS_DESTINATION=postgres, asserted on the synthesized Terraform JSON: an RDS PostgreSQL
 * that only the instance reaches (or a CIDR the user gave), its password in Secrets Manager
 * only, the role reading exactly that secret, TLS verified against the CA bundle the release
 * ships. (plan.test.ts runs the plan-time checks; the twin deploys it.)
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { RDS_CA_BUNDLE } from '../../infra/cabundle.ts';
import { tempDir } from '../support/fixtures.ts';
import { only, synth, type Synth } from './synth.ts';

const POSTGRES = { CENSUS_DESTINATION: 'postgres' };
const json = synth(POSTGRES);
const db = only(json, 'aws_db_instance');
const ref = (type: string, j: Synth = json) => Object.keys(j.resource[type] ?? j.data[type])[0];
const dbRef = `aws_db_instance.${ref('aws_db_instance')}`;
const secretArn = `\${${dbRef}.master_user_secret[0].secret_arn}`;
const groups = (j: Synth) => j.resource.aws_security_group;
const params = (j: Synth) =>
  JSON.parse(Object.values(j.resource.aws_s3_object).find((o) => o.key.endsWith('/params.json'))!.content);

test('RDS PostgreSQL 18 (the major only), db.t4g.micro, 20 GiB gp3 encrypted, in the VPC only', () => {
  const expected = {
    engine: 'postgres',
    engine_version: '18',
    instance_class: 'db.t4g.micro',
    storage_type: 'gp3',
    allocated_storage: 20,
    storage_encrypted: true,
    publicly_accessible: false,
    multi_az: false,
    db_name: 'census',
    username: 'census',
    port: 5432,
    identifier_prefix: 'census-etl-',
  };
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(db[key], value, key);
});

test('the password: RDS keeps it in Secrets Manager; none in the stack, params or user-data', () => {
  assert.equal(db.manage_master_user_password, true);
  assert.equal(db.password, undefined);
  assert.equal(db.master_user_secret_kms_key_id, undefined, "RDS's own key: the role needs no KMS grant");
  // No attribute of any resource, data source or output holds a password.
  const keys = (value: unknown): string[] =>
    value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [k, ...keys(v)]) : [];
  const all = keys({ resource: json.resource, data: json.data, output: json.output });
  assert.deepEqual([...new Set(all.filter((k) => /password/i.test(k)))], ['manage_master_user_password']);
  assert.ok(!/password|secret/i.test(params(json).database), 'the params name the user alone');
});

test('destroy removes it: no final snapshot, no deletion protection; changes apply at once', () => {
  assert.equal(db.skip_final_snapshot, true);
  assert.equal(db.deletion_protection, false);
  assert.equal(db.final_snapshot_identifier, undefined);
  assert.equal(db.apply_immediately, true);
});

test("in the default VPC's default subnets, which must span two zones (checked at plan time)", () => {
  const group = only(json, 'aws_db_subnet_group');
  const [subnetsRef] = Object.keys(json.data.aws_subnets);
  assert.equal(db.db_subnet_group_name, `\${aws_db_subnet_group.${ref('aws_db_subnet_group')}.name}`);
  assert.equal(group.subnet_ids, `\${data.aws_subnets.${subnetsRef}.ids}`);
  const subnets = json.data.aws_subnets[subnetsRef];
  const [vpcs] = Object.keys(json.data.aws_vpcs);
  assert.deepEqual(subnets.filter, [
    { name: 'vpc-id', values: [`\${element(data.aws_vpcs.${vpcs}.ids, 0)}`] },
    { name: 'default-for-az', values: ['true'] },
  ]);
  const [check] = subnets.lifecycle.postcondition;
  assert.equal(check.condition, '${length(self.ids) >= 2}');
  assert.match(
    check.error_message,
    /^An RDS database needs subnets in 2 availability zones at least, and the /,
  );
  assert.match(
    check.error_message,
    /`aws ec2 create-default-subnet --availability-zone <zone> --region us-east-1`/,
  );
});

test('plan-time checks that RDS offers PostgreSQL 18 and db.t4g.micro with gp3; not under moto', () => {
  const [version] = Object.values(json.data.aws_rds_engine_version);
  assert.deepEqual(version, { engine: 'postgres', version: '18', latest: true });
  const [offered] = Object.values(json.data.aws_rds_orderable_db_instance);
  const [versionRef] = Object.keys(json.data.aws_rds_engine_version);
  assert.deepEqual(offered, {
    engine: 'postgres',
    engine_version: `\${data.aws_rds_engine_version.${versionRef}.version_actual}`,
    instance_class: 'db.t4g.micro',
    storage_type: 'gp3',
  });
  const local = synth({ ...POSTGRES, CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000' });
  assert.equal(local.data.aws_rds_engine_version, undefined, 'moto has no DescribeDBEngineVersions');
  assert.equal(local.data.aws_rds_orderable_db_instance, undefined);
  const [provider] = local.provider.aws as { endpoints: Record<string, string>[] }[];
  assert.equal(provider.endpoints[0].rds, 'http://127.0.0.1:5000');
});

test("security groups: 5432 in from the instance's group only; the instance may reach it, and HTTPS", () => {
  const all = groups(json);
  const [databaseGroup, instanceGroup] = ['network_database-sg', 'network_sg'].map((prefix) =>
    Object.keys(all).find((k) => k.startsWith(`${prefix}_`))!,
  );
  assert.deepEqual(db.vpc_security_group_ids, [`\${aws_security_group.${databaseGroup}.id}`]);
  const dbGroup = all[databaseGroup];
  assert.deepEqual(dbGroup.egress, [], 'nothing out');
  assert.equal(dbGroup.ingress, undefined, 'its rules are resources of their own');
  const rules = Object.values(json.resource.aws_vpc_security_group_ingress_rule);
  assert.deepEqual(
    rules.map((r) => [
      r.security_group_id,
      r.ip_protocol,
      r.from_port,
      r.to_port,
      r.referenced_security_group_id,
    ]),
    [
      [
        `\${aws_security_group.${databaseGroup}.id}`,
        'tcp',
        5432,
        5432,
        `\${aws_security_group.${instanceGroup}.id}`,
      ],
    ],
  );
  assert.equal(rules[0].cidr_ipv4, undefined);
  const egress = all[instanceGroup].egress.map((e: Record<string, unknown>) => [
    e.from_port,
    e.cidr_blocks,
    e.security_groups,
  ]);
  assert.deepEqual(egress, [
    [443, ['0.0.0.0/0'], []],
    [5432, [], [`\${aws_security_group.${databaseGroup}.id}`]],
  ]);
  assert.deepEqual(all[instanceGroup].ingress, []);
  const [instance] = Object.values(json.resource.aws_instance);
  assert.ok(
    instance.depends_on.includes(
      `aws_vpc_security_group_ingress_rule.${ref('aws_vpc_security_group_ingress_rule')}`,
    ),
  );
});

test('CENSUS_DB_CIDR: publicly accessible, 5432 from that CIDR too; the same release, no new run', () => {
  const open = synth({ ...POSTGRES, CENSUS_DB_CIDR: '203.0.113.7/32' });
  assert.equal(only(open, 'aws_db_instance').publicly_accessible, true);
  const fromUser = Object.values(open.resource.aws_vpc_security_group_ingress_rule).filter(
    (r) => r.cidr_ipv4,
  );
  assert.deepEqual(
    fromUser.map((r) => [r.cidr_ipv4, r.from_port, r.to_port, r.ip_protocol]),
    [['203.0.113.7/32', 5432, 5432, 'tcp']],
  );
  assert.equal(open.output.release.value, json.output.release.value);
  assert.equal(only(open, 'aws_instance').user_data, only(json, 'aws_instance').user_data);
});

test('the role reads exactly the database secret (under moto, which cannot match it, "*")', () => {
  const statements = (j: Synth) => JSON.parse(only(j, 'aws_iam_role_policy').policy).Statement;
  const [, , secret, ...more] = statements(json);
  assert.deepEqual(more, []);
  assert.deepEqual(secret.Action, ['secretsmanager:GetSecretValue']);
  assert.deepEqual(secret.Resource, [secretArn]);
  const local = synth({ ...POSTGRES, CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000' });
  assert.deepEqual(statements(local)[2].Resource, ['*']);
  const keys = statements(json)[0].Resource.map((arn: string) => arn.slice(arn.indexOf('}/') + 2));
  assert.ok(
    keys.some((k: string) => /^runner\/\w{16}\/database-ca\.pem$/.test(k)),
    'and the CA bundle',
  );
});

test("params: the master user at the address, verify-full against the release's CA bundle", () => {
  assert.equal(
    params(json).database,
    `postgres://census@\${${dbRef}.address}:5432/census` +
      '?sslmode=verify-full&sslrootcert=/opt/census-etl/database-ca.pem',
  );
  const ca = Object.values(json.resource.aws_s3_object).find((o) => o.key.endsWith('/database-ca.pem'))!;
  assert.match(ca.source, /\/global-bundle\.pem$/);
  assert.equal(ca.content_type, 'application/x-pem-file');
});

test('user-data: reads the secret the stack names, gives PGPASSWORD to the loader', () => {
  const userData: string = only(json, 'aws_instance').user_data;
  assert.ok(userData.includes(`password_secret="${secretArn}"`));
  assert.deepEqual(
    userData.match(/\$\{[^}]*\}/g)!.filter((t) => !t.includes('aws_s3_bucket')),
    [secretArn],
  );
  assert.match(userData, /^EnvironmentFile=\/run\/census-etl\/database\.env$/m);
});

test('outputs: the endpoint, the database, its user, the secret; none with SQLite', () => {
  const names = [
    'database_address',
    'database_name',
    'database_port',
    'database_secret_arn',
    'database_user',
  ];
  assert.deepEqual(
    Object.keys(json.output).filter((k) => k.startsWith('database_')),
    names,
  );
  assert.equal(json.output.database_address.value, `\${${dbRef}.address}`);
  assert.equal(json.output.database_secret_arn.value, secretArn);
  assert.deepEqual(
    Object.keys(synth().output).filter((k) => k.startsWith('database')),
    [],
  );
});

test('a release is its content: PostgreSQL is another than SQLite; another CA bundle, another', () => {
  const sqlite = synth();
  assert.notEqual(json.output.release.value, sqlite.output.release.value);
  assert.equal(synth(POSTGRES).output.release.value, json.output.release.value, 'deterministic');
  const same = synth({ ...POSTGRES, CENSUS_DB_CA_BUNDLE: RDS_CA_BUNDLE.file });
  assert.equal(same.output.release.value, json.output.release.value, 'the same bytes, the same release');
  const bundle = readFileSync(RDS_CA_BUNDLE.file, 'utf8');
  const fewer = path.join(tempDir(), 'fewer.pem');
  writeFileSync(fewer, bundle.slice(bundle.indexOf('-----BEGIN', 1)));
  const other = synth({ ...POSTGRES, CENSUS_DB_CA_BUNDLE: fewer });
  assert.notEqual(other.output.release.value, json.output.release.value);
  assert.notEqual(only(other, 'aws_instance').user_data, only(json, 'aws_instance').user_data, 'a new run');
  assert.deepEqual(only(other, 'aws_db_instance'), db, 'the same database');
});
