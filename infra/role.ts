/** The instance role and its profile: the access the runner needs (policy.ts), nothing else. */
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { Construct } from 'constructs';
import { EC2_ASSUME_ROLE, instancePolicy, type InstanceAccess } from './policy.ts';

export class InstanceRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly profile: IamInstanceProfile;

  constructor(scope: Construct, id: string, access: InstanceAccess) {
    super(scope, id);
    this.role = new IamRole(this, 'role', {
      namePrefix: 'census-etl-',
      assumeRolePolicy: JSON.stringify(EC2_ASSUME_ROLE),
    });
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'census-etl-s3',
      role: this.role.id,
      policy: JSON.stringify(instancePolicy(access)),
    });
    this.profile = new IamInstanceProfile(this, 'profile', {
      namePrefix: 'census-etl-',
      role: this.role.name,
    });
  }
}
