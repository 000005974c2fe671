/**
 * What deploy puts in the bucket: the raw dataset (raw zone, by ingestion date: its files, and
 * a user's descriptor naming them) and one release of the runner (RELEASE_FILES: bundle, native
 * addon, params pointing at those raw keys and at the results prefix, and with PostgreSQL the
 * CA bundle of its certificate). Keys carry content hashes where content can change.
 */
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';
import { AssetType, DataResource, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import type { DeployedParams, Params } from '../runner/params.ts';
import { DESCRIPTOR_KEY, type DeployedDataset } from './dataset.ts';
import { RELEASE_FILES, RESULTS_PREFIX, rawKey, releasePrefix, type BuiltFile } from './layout.ts';

const CONTENT_TYPES: Record<BuiltFile, string> = {
  bundle: 'text/javascript',
  parser: 'text/javascript',
  addon: 'application/octet-stream',
};

export type UploadsProps = {
  bucket: string;
  /** YYYY-MM-DD as the user set it, or null: the day of the first deploy of this data. */
  ingestionDate: string | null;
  raw: Omit<DeployedDataset, 'records'>;
  /** The built release files (RELEASE_FILES but params), as local paths. */
  built: Record<BuiltFile, string>;
  /** PostgreSQL only: the CA bundle the loader verifies the database against, as a local path. */
  databaseCa: string | null;
  /** Everything of the runner's params but sources, results and release, which this sets. */
  params: DeployedParams;
  /** Identifies this release: a content hash, which changes whenever the bundle, params or data do. */
  release: string;
};

export class Uploads extends Construct {
  readonly releasePrefix: string;
  readonly readKeys: string[];
  readonly objects: S3Object[] = [];
  /** The raw zone's partition (YYYY/MM/DD), as Terraform resolved it. */
  readonly partition: string;

  constructor(scope: Construct, id: string, props: UploadsProps) {
    super(scope, id);
    const { bucket, ingestionDate, raw, built, databaseCa, params, release } = props;
    this.releasePrefix = releasePrefix(release);

    // The partition is resolved once, at the first deploy of this data, and kept: a deploy on a
    // later day changes nothing. New data (checksums) or an explicit date make a new one.
    const today = '${formatdate("YYYY/MM/DD", plantimestamp())}';
    const partition = new DataResource(this, 'ingestion-date', {
      input: { partition: ingestionDate ? ingestionDate.replaceAll('-', '/') : today },
      triggersReplace: { raw: raw.files.map((f) => f.sha256).join(' '), explicit: ingestionDate ?? '' },
      lifecycle: { ignoreChanges: ['input'] },
    });
    this.partition = partition.getStringAttribute('output.partition');

    const file = (name: string, key: string, local: string, contentType: string) => {
      const asset = new TerraformAsset(this, `${name}-asset`, { path: local, type: AssetType.FILE });
      const sourceHash = asset.assetHash;
      const source = asset.path;
      this.objects.push(new S3Object(this, name, { bucket, key, source, sourceHash, contentType }));
      return key;
    };

    const rawKeys = raw.files.map((f) =>
      file(
        `raw-${f.key.replaceAll('/', '--')}`,
        rawKey(raw.folder, this.partition, f.key),
        f.path,
        'text/plain',
      ),
    );
    // Adult's files are named by the params; a user's dataset by its descriptor, beside them.
    const descriptorKey = rawKey(raw.folder, this.partition, DESCRIPTOR_KEY);
    if (raw.descriptor) {
      this.objects.push(
        new S3Object(this, 'descriptor', {
          bucket,
          key: descriptorKey,
          content: raw.descriptor,
          contentType: 'application/json',
        }),
      );
      rawKeys.push(descriptorKey);
    }
    const data: Partial<Pick<Params, 'dataset' | 'sources'>> = raw.descriptor
      ? { dataset: `s3://${bucket}/${descriptorKey}` }
      : { sources: raw.files.map((f, i) => ({ uri: `s3://${bucket}/${rawKeys[i]}`, sha256: f.sha256 })) };
    const runnerParams: DeployedParams & Partial<Params> = {
      ...params,
      release,
      ...data,
      results: `s3://${bucket}/${RESULTS_PREFIX}`,
    };
    const paramsKey = this.releasePrefix + RELEASE_FILES.params;
    const content = `${JSON.stringify(runnerParams, null, 2)}\n`;
    const contentType = 'application/json';
    this.objects.push(new S3Object(this, 'params', { bucket, key: paramsKey, content, contentType }));

    const builtKeys = (Object.entries(built) as [BuiltFile, string][]).map(([name, source]) =>
      file(name, this.releasePrefix + RELEASE_FILES[name], source, CONTENT_TYPES[name]),
    );
    const caKey = this.releasePrefix + RELEASE_FILES.databaseCa;
    const caKeys = databaseCa ? [file('databaseCa', caKey, databaseCa, 'application/x-pem-file')] : [];
    this.readKeys = [...builtKeys, paramsKey, ...caKeys, ...rawKeys];
  }
}
