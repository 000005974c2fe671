/**
 * The instance's security group, in the default VPC: HTTPS out (packages, npm, S3), and SSH
 * in only from the CIDR the user gave, only when the user gave a key pair.
 */
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { Construct } from 'constructs';

export type NetworkProps = { sshCidr: string | null };

export class InstanceNetwork extends Construct {
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, { sshCidr }: NetworkProps) {
    super(scope, id);
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
      ingress: sshCidr ? [rule('SSH from the user', 22, sshCidr)] : [],
      egress: [rule('HTTPS to package repositories, npm and S3', 443, '0.0.0.0/0')],
    });
  }
}
