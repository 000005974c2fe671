/**
 * A local AWS emulator (moto) as the stack's target, for the AWS twin and the tests: the one
 * place that knows where it differs from AWS. On AWS there is none, and nothing here applies.
 */
import type { AwsProviderConfig } from '@cdktf/provider-aws/lib/provider/index.js';

/** The emulator the stack deploys to (CENSUS_AWS_ENDPOINT): an endpoint on loopback. */
export type Emulator = {
  endpoint: string;
  /**
   * It answers RDS's catalogue (DescribeDBEngineVersions, DescribeOrderableDBInstanceOptions),
   * which moto does not implement; the plan test puts a stand-in for it in front of moto.
   */
  rdsCatalogue?: boolean;
};

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
  /**
   * For a rule admitting another security group, moto names that group "<owner>/<group>", which
   * the provider, told not to look up the account, takes for another account's group, and keeps
   * no description: the rule drifts on every plan.
   */
  ignoredGroupRuleChanges: string[];
  /**
   * moto authorizes the actions of every service but S3 against the resource "*", not the one
   * asked for, so a statement naming the database's secret never allows reading it: under moto
   * the statement names "*".
   */
  secretInPolicy: (arn: string) => string;
  /** Plan-time checks that RDS offers the engine version and instance class (see Emulator). */
  checkRdsCatalogue: boolean;
};

export function emulatorQuirks(emulator: Emulator | null, postgres: boolean): EmulatorQuirks {
  if (!emulator) {
    return {
      provider: {},
      tlsOnlyBucketPolicy: true,
      ignoredInstanceChanges: [],
      ignoredGroupRuleChanges: [],
      secretInPolicy: (arn) => arn,
      checkRdsCatalogue: true,
    };
  }
  const services = postgres ? [...SERVICES, 'rds'] : SERVICES;
  return {
    provider: {
      endpoints: [Object.fromEntries(services.map((s) => [s, emulator.endpoint]))],
      s3UsePathStyle: true,
      skipCredentialsValidation: true,
      skipRequestingAccountId: true,
      skipMetadataApiCheck: 'true',
    },
    tlsOnlyBucketPolicy: false,
    ignoredInstanceChanges: ['vpc_security_group_ids'],
    ignoredGroupRuleChanges: ['referenced_security_group_id', 'description'],
    secretInPolicy: () => '*',
    checkRdsCatalogue: emulator.rdsCatalogue === true,
  };
}
