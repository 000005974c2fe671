/** The IAM documents, as pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EC2_ASSUME_ROLE, instancePolicy, tlsOnlyBucketPolicy } from '../../infra/policy.ts';

test('instance policy: GetObject on each read key; Put+Get under the results prefix, nothing else', () => {
  const readKeys = ['runner/r1/cli.mjs', 'raw/x/Adult.data'];
  const doc = instancePolicy({ bucket: 'b', readKeys, resultsPrefix: 'results/' });
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
