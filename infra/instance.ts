/**
 * The loader instance: Amazon Linux 2023 (AMI looked up through SSM once, then kept) for the
 * architecture of its type, IMDSv2 only, encrypted root volume, stopped (not terminated) when
 * it shuts itself down, so it stays in Terraform's state and an unchanged deploy creates no
 * other. A new user-data (new release) replaces it. EC2 itself confirms the type at plan time.
 */
import { DataAwsEc2InstanceType } from '@cdktf/provider-aws/lib/data-aws-ec2-instance-type/index.js';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { Instance } from '@cdktf/provider-aws/lib/instance/index.js';
import { DataResource, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { Architecture } from './architecture.ts';

export type LoaderInstanceProps = {
  instanceType: string;
  /** Attributes whose drift Terraform ignores (none on AWS; see emulator.ts). */
  ignoreChanges: string[];
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
  /** The AMI resolved at the first deploy; replacing it (npm run rerun -- --new-ami) looks again. */
  readonly ami: DataResource;
  /** When Terraform created this instance: its run starts after that. */
  readonly createdAt: string;

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
    const parameter = al2023Parameter(architecture);
    const latest = new DataAwsSsmParameter(this, 'al2023-ami', { name: parameter });
    // Amazon publishes new images often: a new one must not replace the instance (a run nobody
    // asked for). Resolved once and kept, but for another architecture, or when asked.
    this.ami = new DataResource(this, 'ami', {
      input: { id: latest.insecureValue },
      triggersReplace: { parameter },
      lifecycle: { ignoreChanges: ['input'] },
    });
    this.instance = new Instance(this, 'instance', {
      ami: this.ami.getStringAttribute('output.id'),
      instanceType,
      iamInstanceProfile: props.instanceProfile,
      vpcSecurityGroupIds: [props.securityGroupId],
      keyName: props.keyName ?? undefined,
      associatePublicIpAddress: true,
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
      rootBlockDevice: {
        encrypted: true,
        volumeType: 'gp3',
        volumeSize: props.rootVolumeGiB ?? 8,
        deleteOnTermination: true,
      },
      // Stopped, it stays in the state (8 GiB of gp3 until destroy); terminated, the provider
      // would drop it on refresh and the next deploy would create another: a new run.
      instanceInitiatedShutdownBehavior: 'stop',
      userData: props.userData,
      userDataReplaceOnChange: true,
      tags: { Name: 'census-etl-loader' },
      dependsOn: props.dependsOn,
      lifecycle: props.ignoreChanges.length ? { ignoreChanges: props.ignoreChanges } : undefined,
    });
    const created = new DataResource(this, 'created', {
      input: { at: '${timestamp()}' },
      triggersReplace: { instance: this.instance.id },
      lifecycle: { ignoreChanges: ['input'] },
    });
    this.createdAt = created.getStringAttribute('output.at');
  }
}
