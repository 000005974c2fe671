/** The census-etl stack: one construct per concern, wired together; settings come from Config. */
import { createHash } from 'node:crypto';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { DEFAULTS, type DeployedParams } from '../runner/params.ts';
import { SecureBucket } from './bucket.ts';
import { DATABASE, PostgresDatabase, databaseUrl } from './database.ts';
import type { Bundle } from './bundle.ts';
import type { Config } from './config.ts';
import { emulatorQuirks } from './emulator.ts';
import { LoaderInstance } from './instance.ts';
import { INSTANCE, RESULTS_PREFIX } from './layout.ts';
import { InstanceNetwork } from './network.ts';
import { InstanceRole } from './role.ts';
import type { DeployedDataset } from './dataset.ts';
import { Uploads } from './uploads.ts';
import { userData } from './userdata.ts';

export type CensusEtlProps = {
  config: Config;
  /** The dataset for the raw zone, staged (dataset.ts). */
  raw: Omit<DeployedDataset, 'records'>;
  /** The built release files for config.architecture, and their hash. */
  bundle: Pick<Bundle, 'files' | 'sha256'>;
};

/** What the raw zone adds to the release's content: its files' hashes, and a user's descriptor. */
const rawContent = ({ files, descriptor }: CensusEtlProps['raw']) => ({
  raw: files.map((f) => f.sha256),
  ...(descriptor ? { descriptor: createHash('sha256').update(descriptor).digest('hex') } : {}),
});

/** The AWS provider 5.x bindings pin 5.99.1 exactly; accept the 5.x line from there on. */
export const AWS_PROVIDER_CONSTRAINT = '~> 5.99';

export class CensusEtlStack extends TerraformStack {
  constructor(scope: Construct, id: string, { config, raw, bundle }: CensusEtlProps) {
    super(scope, id);
    const { postgres } = config;
    const quirks = emulatorQuirks(config.emulator, postgres !== null);
    new AwsProvider(this, 'aws', {
      region: config.region,
      defaultTags: [{ tags: { project: 'census-etl' } }],
      ...quirks.provider,
    });
    new LocalBackend(this, { path: config.stateFile });
    this.addOverride('terraform.required_providers.aws.version', AWS_PROVIDER_CONSTRAINT);

    const store = new SecureBucket(this, 'store', {
      namePrefix: 'census-etl-',
      tlsOnlyPolicy: quirks.tlsOnlyBucketPolicy,
    });
    const bucket = store.bucket.bucket;

    const sshCidr = config.ssh?.cidr ?? null;
    const network = new InstanceNetwork(this, 'network', {
      region: config.region,
      sshCidr,
      database: postgres && { port: DATABASE.port, clientCidr: postgres.clientCidr },
      ignoredRuleChanges: quirks.ignoredGroupRuleChanges,
    });
    const database =
      postgres &&
      network.database &&
      new PostgresDatabase(this, 'database', {
        region: config.region,
        vpcId: network.vpcId,
        securityGroupId: network.database.securityGroup.id,
        publiclyAccessible: postgres.clientCidr !== null,
        checkCatalogue: quirks.checkRdsCatalogue,
      });

    const paramsFor = (db: string): DeployedParams => ({
      database: db,
      log: INSTANCE.log,
      batchSize: config.batchSize,
      everySeconds: config.everySeconds,
      unthrottled: false,
      retry: DEFAULTS.retry,
    });
    const params = paramsFor(database ? databaseUrl(database.instance.address) : INSTANCE.database);
    // The release is its content: bundle and addon, params, data and a user's descriptor (and the
    // CA bundle). No date, nothing else: the same release is the same instance, and deploying it
    // again starts nothing. A database's address is not known yet: the params name it, the hash
    // does not.
    const content = postgres
      ? { params: paramsFor(databaseUrl('<the database>')), databaseCa: postgres.caBundle.sha256 }
      : { params };
    const release = createHash('sha256')
      .update(JSON.stringify({ bundle: bundle.sha256, ...content, ...rawContent(raw) }))
      .digest('hex')
      .slice(0, 16);
    const { ingestionDate } = config;
    const built = bundle.files;
    const databaseCa = postgres?.caBundle.file ?? null;
    const uploads = new Uploads(this, 'uploads', {
      bucket,
      ingestionDate,
      raw,
      built,
      databaseCa,
      params,
      release,
    });

    const access = {
      bucket,
      readKeys: uploads.readKeys,
      resultsPrefix: RESULTS_PREFIX,
      databaseSecret: database && quirks.secretInPolicy(database.secretArn),
    };
    const role = new InstanceRole(this, 'instance-role', access);
    const loader = new LoaderInstance(this, 'loader', {
      instanceType: config.instanceType,
      ignoreChanges: quirks.ignoredInstanceChanges,
      architecture: config.architecture,
      instanceProfile: role.profile.name,
      securityGroupId: network.securityGroup.id,
      keyName: config.ssh?.keyName ?? null,
      userData: userData({
        region: config.region,
        bucket,
        release,
        architecture: config.architecture,
        timeLimitMinutes: config.timeLimitMinutes,
        postgres: database && { secretArn: database.secretArn },
      }),
      // The instance starts working at boot: its objects, permissions and way to the database
      // must exist by then.
      dependsOn: [...uploads.objects, role.policy, ...(network.database?.rules ?? [])],
    });

    const dns = loader.instance.publicDns;
    new TerraformOutput(this, 'region', { value: config.region });
    new TerraformOutput(this, 'release', { value: release });
    new TerraformOutput(this, 'time_limit_minutes', { value: config.timeLimitMinutes });
    new TerraformOutput(this, 'instance_created_at', { value: loader.createdAt });
    new TerraformOutput(this, 'bucket', { value: bucket });
    new TerraformOutput(this, 'results_uri', { value: `s3://${bucket}/${RESULTS_PREFIX}` });
    new TerraformOutput(this, 'instance_id', { value: loader.instance.id });
    new TerraformOutput(this, 'public_dns', { value: dns });
    new TerraformOutput(this, 'instance_role_arn', { value: role.role.arn });
    new TerraformOutput(this, 'ssh_command', {
      value: config.ssh
        ? `ssh ${INSTANCE.sshUser}@${dns}`
        : 'none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH',
    });
    if (!database) return;
    new TerraformOutput(this, 'database_address', { value: database.instance.address });
    new TerraformOutput(this, 'database_port', { value: database.instance.port });
    new TerraformOutput(this, 'database_name', { value: DATABASE.name });
    new TerraformOutput(this, 'database_user', { value: DATABASE.user });
    new TerraformOutput(this, 'database_secret_arn', { value: database.secretArn });
  }
}
