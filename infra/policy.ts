/**
 * The instance role's permissions, as a pure function: read exactly the release objects and
 * the raw files, write exactly the result objects. Every resource is one object's ARN, so
 * there is no wildcard to widen by mistake.
 */
export type PolicyStatement = { Sid: string; Effect: 'Allow' | 'Deny'; Action: string[]; Resource?: string[]; Condition?: unknown; Principal?: unknown };
export type PolicyDocument = { Version: '2012-10-17'; Statement: PolicyStatement[] };

export type InstanceAccess = {
  bucket: string;
  /** Keys the instance downloads: runner bundle, its package.json, params, raw files. */
  readKeys: string[];
  /** Keys the instance uploads (and reads back to verify). */
  writeKeys: string[];
};

const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

export function instancePolicy({ bucket, readKeys, writeKeys }: InstanceAccess): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadRunnerAndRawData', Effect: 'Allow', Action: ['s3:GetObject'], Resource: readKeys.map((k) => objectArn(bucket, k)) },
      // The runner reads every upload back to compare it byte for byte.
      { Sid: 'WriteResults', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: writeKeys.map((k) => objectArn(bucket, k)) },
    ],
  };
}

/** Bucket policy: refuse any request that does not arrive over TLS. */
export function tlsOnlyBucketPolicy(bucket: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

/** Who may assume the instance role: EC2, for this instance's profile. */
export const EC2_ASSUME_ROLE: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Ec2AssumesRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: ['sts:AssumeRole'] }],
};
