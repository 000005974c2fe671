/**
 * The loader instance: Amazon Linux 2023 (AMI looked up through SSM), IMDSv2 only, encrypted
 * root volume, terminated when it shuts itself down. A new user-data (new release) replaces it.
 */
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { Instance } from '@cdktf/provider-aws/lib/instance/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export type LoaderInstanceProps = {
  instanceType: string;
  instanceProfile: string;
  securityGroupId: string;
  keyName: string | null;
  userData: string;
  /** GiB; the AL2023 image needs 8 at least. */
  rootVolumeGiB?: number;
  /** What must exist before it boots (its objects, its permissions). */
  dependsOn: ITerraformDependable[];
};

/** Graviton types carry a "g" after the generation digit (t4g, m7g, c7gn); the rest are x86_64. */
export const architectureOf = (instanceType: string) => (/^[a-z]+\d+[a-z-]*g[a-z-]*\./.test(instanceType) ? 'arm64' : 'x86_64');

export const al2023Parameter = (instanceType: string) => `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architectureOf(instanceType)}`;

export class LoaderInstance extends Construct {
  readonly instance: Instance;

  constructor(scope: Construct, id: string, props: LoaderInstanceProps) {
    super(scope, id);
    const ami = new DataAwsSsmParameter(this, 'al2023-ami', { name: al2023Parameter(props.instanceType) });
    this.instance = new Instance(this, 'instance', {
      ami: ami.value,
      instanceType: props.instanceType,
      iamInstanceProfile: props.instanceProfile,
      vpcSecurityGroupIds: [props.securityGroupId],
      keyName: props.keyName ?? undefined,
      associatePublicIpAddress: true,
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeType: 'gp3', volumeSize: props.rootVolumeGiB ?? 8, deleteOnTermination: true },
      instanceInitiatedShutdownBehavior: 'terminate',
      userData: props.userData,
      userDataReplaceOnChange: true,
      tags: { Name: 'census-etl-loader' },
      dependsOn: props.dependsOn,
    });
  }
}
