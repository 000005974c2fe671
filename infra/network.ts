/**
 * The instance's security group, in the account's default VPC (where the instance goes): HTTPS
 * out (packages and S3), and SSH in only from the CIDR the user gave, only with a key pair. An
 * account without a default VPC fails at plan time, before anything is created, saying so.
 */
import { DataAwsVpcs } from '@cdktf/provider-aws/lib/data-aws-vpcs/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';

export type NetworkProps = { region: string; sshCidr: string | null };

export class InstanceNetwork extends Construct {
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, { region, sshCidr }: NetworkProps) {
    super(scope, id);
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
    const rule = (description: string, port: number, cidr: string) => ({
      description,
      protocol: 'tcp',
      fromPort: port,
      toPort: port,
      cidrBlocks: [cidr],
      ipv6CidrBlocks: [],
      prefixListIds: [],
      securityGroups: [],
      selfAttribute: false,
    });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      namePrefix: 'census-etl-',
      description: 'census-etl loader instance',
      vpcId: Fn.element(defaultVpc.ids, 0),
      ingress: sshCidr ? [rule('SSH from the user', 22, sshCidr)] : [],
      egress: [rule('HTTPS to package repositories and S3', 443, '0.0.0.0/0')],
    });
  }
}
