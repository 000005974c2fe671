/**
 * Who may talk to whom, in the account's default VPC (where the instance and the database go).
 * The instance: HTTPS out (packages, S3, Secrets Manager), PostgreSQL out to the database's
 * security group only, and SSH in only from the CIDR the user gave, only with a key pair. The
 * database (with PostgreSQL): PostgreSQL in from the instance's security group, and from the
 * CIDR the user gave if any; nothing out. An account without a default VPC fails at plan time,
 * before anything is created, saying so.
 */
import { DataAwsVpcs } from '@cdktf/provider-aws/lib/data-aws-vpcs/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
// prettier-ignore
import {
  VpcSecurityGroupIngressRule,
} from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';

export type NetworkProps = {
  region: string;
  sshCidr: string | null;
  /** PostgreSQL only: the database's port, and the CIDR that may reach it from outside, if any. */
  database: { port: number; clientCidr: string | null } | null;
  /** Attributes of the database's rule admitting the instance whose drift Terraform ignores (emulator.ts). */
  ignoredRuleChanges: string[];
};

export class InstanceNetwork extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly vpcId: string;
  /** PostgreSQL only: the database's security group, and its rules (the way in). */
  readonly database: { securityGroup: SecurityGroup; rules: VpcSecurityGroupIngressRule[] } | null;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { region, sshCidr, database, ignoredRuleChanges } = props;
    const defaultVpc = new DataAwsVpcs(this, 'default-vpc', {
      filter: [{ name: 'is-default', values: ['true'] }],
      lifecycle: {
        postcondition: [
          {
            condition: '${length(self.ids) == 1}',
            errorMessage:
              `census-etl runs its instance in the default VPC, and this account has none in ${region}: ` +
              `create it with \`aws ec2 create-default-vpc --region ${region}\`, ` +
              'or choose another region with CENSUS_REGION.',
          },
        ],
      },
    });
    this.vpcId = Fn.element(defaultVpc.ids, 0);
    // A rule of the instance's group: to or from a CIDR, or to another group.
    const rule = (description: string, port: number, peer: { cidr: string } | { group: string }) => ({
      description,
      protocol: 'tcp',
      fromPort: port,
      toPort: port,
      cidrBlocks: 'cidr' in peer ? [peer.cidr] : [],
      ipv6CidrBlocks: [],
      prefixListIds: [],
      securityGroups: 'group' in peer ? [peer.group] : [],
      selfAttribute: false,
    });
    // The database's rules are resources of their own (below): inline ones naming the instance's
    // group, which names this one, would make a cycle.
    const databaseGroup = database
      ? new SecurityGroup(this, 'database-sg', {
          namePrefix: 'census-etl-db-',
          description: 'census-etl PostgreSQL database',
          vpcId: this.vpcId,
          egress: [],
        })
      : null;
    const https = rule('HTTPS to package repositories and S3', 443, { cidr: '0.0.0.0/0' });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      namePrefix: 'census-etl-',
      description: 'census-etl loader instance',
      vpcId: this.vpcId,
      ingress: sshCidr ? [rule('SSH from the user', 22, { cidr: sshCidr })] : [],
      egress:
        database && databaseGroup
          ? [https, rule('PostgreSQL to the database', database.port, { group: databaseGroup.id })]
          : [https],
    });
    if (!database || !databaseGroup) {
      this.database = null;
      return;
    }
    const inbound = {
      securityGroupId: databaseGroup.id,
      ipProtocol: 'tcp',
      fromPort: database.port,
      toPort: database.port,
    };
    const rules = [
      new VpcSecurityGroupIngressRule(this, 'database-from-instance', {
        ...inbound,
        description: 'PostgreSQL from the loader instance',
        referencedSecurityGroupId: this.securityGroup.id,
        lifecycle: ignoredRuleChanges.length ? { ignoreChanges: ignoredRuleChanges } : undefined,
      }),
    ];
    if (database.clientCidr) {
      rules.push(
        new VpcSecurityGroupIngressRule(this, 'database-from-user', {
          ...inbound,
          description: 'PostgreSQL from the user (TLS and the password required)',
          cidrIpv4: database.clientCidr,
        }),
      );
    }
    this.database = { securityGroup: databaseGroup, rules };
  }
}
