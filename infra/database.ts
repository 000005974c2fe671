/**
 * The PostgreSQL database (CENSUS_DESTINATION=postgres): RDS, one small instance in the default
 * VPC, storage encrypted, the master password kept by RDS in Secrets Manager (never in
 * Terraform's state, the user-data or the params). Not reachable from the internet unless the
 * user gave a CIDR (network.ts holds its security group). `cdktf destroy` removes it: no final
 * snapshot, no deletion protection. The plan fails, before anything is created, when the
 * default VPC has subnets in fewer than two availability zones (a DB subnet group needs two) or
 * RDS does not offer the engine version and instance class in the region.
 */
import { DataAwsRdsEngineVersion } from '@cdktf/provider-aws/lib/data-aws-rds-engine-version/index.js';
// prettier-ignore
import {
  DataAwsRdsOrderableDbInstance,
} from '@cdktf/provider-aws/lib/data-aws-rds-orderable-db-instance/index.js';
import { DataAwsSubnets } from '@cdktf/provider-aws/lib/data-aws-subnets/index.js';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group/index.js';
import { Construct } from 'constructs';
import { INSTANCE, RELEASE_FILES } from './layout.ts';

/** What the stack asks RDS for. */
export const DATABASE = {
  engine: 'postgres',
  /**
   * The major version only: RDS picks its newest minor and upgrades minors itself. 18 is the
   * newest major RDS offers generally (since November 2025; 19 is a preview), the one supported
   * longest (PostgreSQL's own support ends in November 2030).
   */
  majorVersion: '18',
  /** The smallest class (2 vCPU Graviton, 1 GiB), ample for one loader. */
  instanceClass: 'db.t4g.micro',
  storageType: 'gp3',
  /** GiB: RDS for PostgreSQL's minimum for gp3. */
  storageGiB: 20,
  port: 5432,
  name: 'census',
  user: 'census',
} as const;

/**
 * The params' database: the master user at `address`, the password from PGPASSWORD (the
 * user-data's), TLS with the certificate checked against the release's CA bundle and for this
 * host name.
 */
export const databaseUrl = (address: string) =>
  `postgres://${DATABASE.user}@${address}:${DATABASE.port}/${DATABASE.name}` +
  `?sslmode=verify-full&sslrootcert=${INSTANCE.home}/${RELEASE_FILES.databaseCa}`;

export type DatabaseProps = {
  region: string;
  vpcId: string;
  securityGroupId: string;
  /** A public address as well (the user gave a CIDR that may reach it); else the VPC only. */
  publiclyAccessible: boolean;
  /** Whether the plan checks RDS's catalogue (false under moto, which has none: emulator.ts). */
  checkCatalogue: boolean;
};

/** Subnets in this many availability zones at least: what a DB subnet group requires. */
export const MIN_ZONES = 2;

export class PostgresDatabase extends Construct {
  readonly instance: DbInstance;
  /** The ARN of the secret RDS keeps the master user's name and password in. */
  readonly secretArn: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { region } = props;
    // The default VPC has one default subnet per availability zone.
    const subnets = new DataAwsSubnets(this, 'default-subnets', {
      filter: [
        { name: 'vpc-id', values: [props.vpcId] },
        { name: 'default-for-az', values: ['true'] },
      ],
      lifecycle: {
        postcondition: [
          {
            condition: `\${length(self.ids) >= ${MIN_ZONES}}`,
            errorMessage:
              `An RDS database needs subnets in ${MIN_ZONES} availability zones at least, ` +
              'and the default VPC ' +
              `in ${region} has default subnets in \${length(self.ids)}: create one in another zone with ` +
              `\`aws ec2 create-default-subnet --availability-zone <zone> --region ${region}\`, ` +
              'or choose another region with CENSUS_REGION.',
          },
        ],
      },
    });
    if (props.checkCatalogue) {
      // Each fails the plan when RDS has no such offer in the region; the provider's error says
      // little more than "not found", so their names say what was looked for.
      const version = new DataAwsRdsEngineVersion(this, `postgres-${DATABASE.majorVersion}-offered`, {
        engine: DATABASE.engine,
        version: DATABASE.majorVersion,
        latest: true,
      });
      const offer = `${DATABASE.instanceClass.replaceAll('.', '-')}-${DATABASE.storageType}-offered`;
      new DataAwsRdsOrderableDbInstance(this, offer, {
        engine: DATABASE.engine,
        engineVersion: version.versionActual,
        instanceClass: DATABASE.instanceClass,
        storageType: DATABASE.storageType,
      });
    }
    const group = new DbSubnetGroup(this, 'subnets', {
      namePrefix: 'census-etl-',
      description: 'census-etl: the default subnets of the default VPC',
      subnetIds: subnets.ids,
    });
    this.instance = new DbInstance(this, 'postgres', {
      identifierPrefix: 'census-etl-',
      engine: DATABASE.engine,
      engineVersion: DATABASE.majorVersion,
      instanceClass: DATABASE.instanceClass,
      storageType: DATABASE.storageType,
      allocatedStorage: DATABASE.storageGiB,
      storageEncrypted: true,
      dbName: DATABASE.name,
      username: DATABASE.user,
      port: DATABASE.port,
      manageMasterUserPassword: true,
      dbSubnetGroupName: group.name,
      vpcSecurityGroupIds: [props.securityGroupId],
      publiclyAccessible: props.publiclyAccessible,
      multiAz: false,
      // `cdktf destroy` deletes it and everything in it (docs/aws-postgres.md says so before it).
      skipFinalSnapshot: true,
      deletionProtection: false,
      // Opening or closing it to the user's CIDR takes effect now, not in the maintenance window.
      applyImmediately: true,
      tags: { Name: 'census-etl-database' },
    });
    this.secretArn = this.instance.masterUserSecret.get(0).secretArn;
  }
}
