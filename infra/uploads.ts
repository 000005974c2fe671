/**
 * What deploy puts in the bucket: the raw dataset (raw zone, by ingestion date) and one
 * release of the runner (RELEASE_FILES: bundle, native addon, params pointing at those raw
 * keys and at the results prefix). Keys carry content hashes where content can change.
 */
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import type { Params } from '../runner/params.ts';
import { RELEASE_FILES, RESULTS_PREFIX, rawKey, releasePrefix, type BuiltFile } from './layout.ts';

const CONTENT_TYPES: Record<BuiltFile, string> = {
  bundle: 'text/javascript',
  addon: 'application/octet-stream',
};

export type RawFile = { name: string; path: string; sha256: string };

export type UploadsProps = {
  bucket: string;
  ingestionDate: string;
  raw: RawFile[];
  /** The built release files (RELEASE_FILES but params), as local paths. */
  built: Record<BuiltFile, string>;
  /** Everything of the runner's params but sources and results, which point into this bucket. */
  params: Omit<Params, 'sources' | 'results' | 'release'>;
  /** Identifies this release: changes whenever the bundle or params change. */
  release: string;
};

export class Uploads extends Construct {
  readonly releasePrefix: string;
  readonly readKeys: string[];
  readonly objects: S3Object[] = [];

  constructor(scope: Construct, id: string, props: UploadsProps) {
    super(scope, id);
    const { bucket, ingestionDate, raw, built, params, release } = props;
    this.releasePrefix = releasePrefix(release);

    const file = (name: string, key: string, source: string, contentType: string) => {
      const asset = new TerraformAsset(this, `${name}-asset`, { path: source, type: AssetType.FILE });
      this.objects.push(new S3Object(this, name, { bucket, key, source: asset.path, sourceHash: asset.assetHash, contentType }));
      return key;
    };

    const rawKeys = raw.map((f) => file(`raw-${f.name}`, rawKey(ingestionDate, f.name), f.path, 'text/plain'));
    const runnerParams: Params = {
      ...params,
      release,
      sources: raw.map((f, i) => ({ uri: `s3://${bucket}/${rawKeys[i]}`, sha256: f.sha256 })),
      results: `s3://${bucket}/${RESULTS_PREFIX}`,
    };
    const paramsKey = this.releasePrefix + RELEASE_FILES.params;
    this.objects.push(new S3Object(this, 'params', { bucket, key: paramsKey, content: `${JSON.stringify(runnerParams, null, 2)}\n`, contentType: 'application/json' }));

    const builtKeys = (Object.entries(built) as [BuiltFile, string][]).map(([name, source]) =>
      file(name, this.releasePrefix + RELEASE_FILES[name], source, CONTENT_TYPES[name]),
    );
    this.readKeys = [...builtKeys, paramsKey, ...rawKeys];
  }
}
