/**
 * The loader instance: Amazon Linux 2023 (AMI looked up through SSM) for the architecture of
 * its type, IMDSv2 only, encrypted root volume, terminated when it shuts itself down. A new
 * user-data (new release) replaces it. EC2 itself confirms the type at plan time.
 */
import { DataAwsEc2InstanceType } from '@cdktf/provider-aws/lib/data-aws-ec2-instance-type/index.js';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { Instance } from '@cdktf/provider-aws/lib/instance/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { Architecture } from './architecture.ts';

export type LoaderInstanceProps = {
  instanceType: string;
  /** The architecture the release is built for (derived from the type). */
  architecture: Architecture;
  instanceProfile: string;
  securityGroupId: string;
  keyName: string | null;
  userData: string;
  /** GiB; the AL2023 image needs 8 at least. */
  rootVolumeGiB?: number;
  /** What must exist before it boots (its objects, its permissions). */
  dependsOn: ITerraformDependable[];
};

/** Below 1 GiB, `dnf` on Amazon Linux 2023 runs out of memory (t3.nano, t4g.nano: 512 MiB). */
export const MIN_MEMORY_MIB = 1024;

export const al2023Parameter = (architecture: Architecture) =>
  `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;

export class LoaderInstance extends Construct {
  readonly instance: Instance;

  constructor(scope: Construct, id: string, props: LoaderInstanceProps) {
    super(scope, id);
    const { instanceType, architecture } = props;
    // EC2's own description of the type: the plan fails, before anything is created, when the
    // release would be built for an architecture the type does not have, or it is too small.
    // (Terraform reads data sources and checks their postconditions before planning resources.)
    new DataAwsEc2InstanceType(this, 'type', {
      instanceType,
      lifecycle: {
        postcondition: [
          {
            condition: `\${contains(self.supported_architectures, "${architecture}")}`,
            errorMessage:
              `census-etl derived the architecture ${architecture} from the instance type ${instanceType}, ` +
              'but EC2 says it supports ${join(", ", self.supported_architectures)}: ' +
              'the release would carry the wrong native addon. ' +
              'Please report this, and choose another instance type meanwhile.',
          },
          {
            condition: `\${self.memory_size >= ${MIN_MEMORY_MIB}}`,
            errorMessage:
              `${instanceType} has \${self.memory_size} MiB of memory; ` +
              `below ${MIN_MEMORY_MIB} MiB, dnf runs out of memory on Amazon Linux 2023: ` +
              'set CENSUS_INSTANCE_TYPE to t3.micro, t4g.micro or larger.',
          },
        ],
      },
    });
    const ami = new DataAwsSsmParameter(this, 'al2023-ami', { name: al2023Parameter(architecture) });
    this.instance = new Instance(this, 'instance', {
      ami: ami.value,
      instanceType,
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
