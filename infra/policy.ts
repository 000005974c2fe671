/**
 * The instance role's permissions, as a pure function: read exactly the release objects and
 * the raw files; write (and read back) under the results prefix only; with PostgreSQL, read the
 * one secret that holds the database's password. Run ids are made at boot, so the results
 * prefix is the one resource that cannot be an exact object: it is the narrowest there is,
 * `arn:aws:s3:::<bucket>/results/*`. No wildcard action, no other wildcard.
 */
export type PolicyStatement = {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource?: string[];
  Condition?: unknown;
  Principal?: unknown;
};
export type PolicyDocument = { Version: '2012-10-17'; Statement: PolicyStatement[] };

export type InstanceAccess = {
  bucket: string;
  /** Keys the instance downloads: the release files and the raw files. */
  readKeys: string[];
  /** The results prefix ("results/"): every run writes under its own prefix inside it. */
  resultsPrefix: string;
  /** PostgreSQL only: the ARN of the secret RDS keeps the master password in. */
  databaseSecret: string | null;
};

const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

export function instancePolicy(access: InstanceAccess): PolicyDocument {
  const { bucket, readKeys, resultsPrefix, databaseSecret } = access;
  const read = readKeys.map((k) => objectArn(bucket, k));
  const password: PolicyStatement[] = databaseSecret
    ? [
        {
          Sid: 'ReadDatabasePassword',
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue'],
          Resource: [databaseSecret],
        },
      ]
    : [];
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadReleaseAndRawData', Effect: 'Allow', Action: ['s3:GetObject'], Resource: read },
      // The runner reads every upload back to compare it byte for byte.
      {
        Sid: 'WriteResults',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject'],
        Resource: [objectArn(bucket, `${resultsPrefix}*`)],
      },
      ...password,
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
  Statement: [
    {
      Sid: 'Ec2AssumesRole',
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: ['sts:AssumeRole'],
    },
  ],
};
