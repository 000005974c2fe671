/** The IAM documents, as pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EC2_ASSUME_ROLE, instancePolicy, tlsOnlyBucketPolicy } from '../../infra/policy.ts';

test('instance policy: GetObject on each read key; Put+Get under the results prefix, nothing else', () => {
  const readKeys = ['runner/r1/cli.mjs', 'raw/x/Adult.data'];
  const doc = instancePolicy({ bucket: 'b', readKeys, resultsPrefix: 'results/', databaseSecret: null });
  assert.deepEqual(
    doc.Statement.map((s) => [s.Effect, s.Action, s.Resource]),
    [
      ['Allow', ['s3:GetObject'], ['arn:aws:s3:::b/runner/r1/cli.mjs', 'arn:aws:s3:::b/raw/x/Adult.data']],
      ['Allow', ['s3:PutObject', 's3:GetObject'], ['arn:aws:s3:::b/results/*']],
    ],
  );
  const text = JSON.stringify(doc);
  assert.equal(text.split('*').length - 1, 1, 'one wildcard: the results prefix (run ids are made at boot)');
  assert.ok(!/ListBucket|DeleteObject|s3:\*/.test(text));
});

test("with PostgreSQL: also GetSecretValue on exactly the database's secret, and nothing else", () => {
  const secret = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rds!db-5f2a-AbCdEf';
  const access = { bucket: 'b', readKeys: ['runner/r1/cli.mjs'], resultsPrefix: 'results/' };
  const plain = instancePolicy({ ...access, databaseSecret: null });
  const doc = instancePolicy({ ...access, databaseSecret: secret });
  assert.deepEqual(doc.Statement.slice(0, 2), plain.Statement, 'the S3 statements are unchanged');
  assert.deepEqual(doc.Statement.slice(2), [
    {
      Sid: 'ReadDatabasePassword',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [secret],
    },
  ]);
  const text = JSON.stringify(doc);
  assert.equal(text.split('*').length - 1, 1, 'still the one wildcard: the results prefix');
  assert.ok(!/secretsmanager:(List|Describe|Put|\*)|kms:/.test(text));
});

test('TLS-only bucket policy: one Deny on non-TLS requests, bucket and objects', () => {
  assert.deepEqual(tlsOnlyBucketPolicy('b').Statement, [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:*'],
      Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ]);
});

test('trust policy: only EC2 may assume the role; no Resource (trust policies have none)', () => {
  assert.deepEqual(EC2_ASSUME_ROLE.Statement, [
    {
      Sid: 'Ec2AssumesRole',
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: ['sts:AssumeRole'],
    },
  ]);
});
