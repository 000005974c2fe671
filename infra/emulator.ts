/**
 * A local AWS emulator (moto) as the stack's target, for the AWS twin and the tests: the one
 * place that knows where it differs from AWS. On AWS there is none, and nothing here applies.
 */
import type { AwsProviderConfig } from '@cdktf/provider-aws/lib/provider/index.js';

/** The emulator the stack deploys to (CENSUS_AWS_ENDPOINT): an endpoint on loopback. */
export type Emulator = { endpoint: string };

/** The services the stack calls; the emulator answers for all of them at one endpoint. */
const SERVICES = ['s3', 'ec2', 'iam', 'sts', 'ssm'] as const;

/** What the stack's constructs do differently under an emulator. */
export type EmulatorQuirks = {
  /** Provider settings: every service at the endpoint, path-style S3, no account lookups. */
  provider: Partial<AwsProviderConfig>;
  /** moto ignores the Bool condition of the TLS-only statement and so denies every request. */
  tlsOnlyBucketPolicy: boolean;
  /**
   * moto treats an instance launched without a subnet as EC2-Classic (no subnet id), so the
   * provider reads its security groups back by name and sees them drift on every plan.
   */
  ignoredInstanceChanges: string[];
};

export function emulatorQuirks(emulator: Emulator | null): EmulatorQuirks {
  if (!emulator) return { provider: {}, tlsOnlyBucketPolicy: true, ignoredInstanceChanges: [] };
  return {
    provider: {
      endpoints: [Object.fromEntries(SERVICES.map((s) => [s, emulator.endpoint]))],
      s3UsePathStyle: true,
      skipCredentialsValidation: true,
      skipRequestingAccountId: true,
      skipMetadataApiCheck: 'true',
    },
    tlsOnlyBucketPolicy: false,
    ignoredInstanceChanges: ['vpc_security_group_ids'],
  };
}
