/** The bucket: private (public access blocked), encrypted at rest, reachable over TLS only. */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
// Prettier keeps an import of one name on one line, here longer than the print width.
// prettier-ignore
import {
  S3BucketServerSideEncryptionConfigurationA,
} from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { Construct } from 'constructs';
import { tlsOnlyBucketPolicy } from './policy.ts';

export type SecureBucketProps = {
  namePrefix: string;
  /** Refuse every request not made over TLS (true on AWS; see emulator.ts). */
  tlsOnlyPolicy: boolean;
};

export class SecureBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, { namePrefix, tlsOnlyPolicy }: SecureBucketProps) {
    super(scope, id);
    // forceDestroy: the results are written by the instance, not by Terraform; `cdktf destroy`
    // removes them too (docs/aws.md says: sync first).
    this.bucket = new S3Bucket(this, 'bucket', { bucketPrefix: namePrefix, forceDestroy: true });
    const bucket = this.bucket.id;
    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    if (tlsOnlyPolicy)
      new S3BucketPolicy(this, 'tls-only', {
        bucket,
        policy: JSON.stringify(tlsOnlyBucketPolicy(this.bucket.bucket)),
      });
  }
}
