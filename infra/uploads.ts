/**
 * What deploy puts in the bucket: the raw dataset (raw zone, by ingestion date) and one
 * release of the runner (bundle, its package.json, params pointing at those raw keys and at
 * the results prefix). Keys carry content hashes where content can change.
 */
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import type { Params } from '../runner/params.ts';
import { RELEASE_FILES, RESULTS_PREFIX, rawKey, releasePrefix } from './layout.ts';

export type RawFile = { name: string; path: string; sha256: string };

export type UploadsProps = {
  bucket: string;
  ingestionDate: string;
  raw: RawFile[];
  bundle: { bundle: string; parser: string; manifest: string; sha256: string };
  /** Everything of the runner's params but sources and results, which point into this bucket. */
  params: Omit<Params, 'sources' | 'results'>;
  /** Identifies this release: changes whenever the bundle or params change. */
  release: string;
};

export class Uploads extends Construct {
  readonly releasePrefix: string;
  readonly readKeys: string[];
  readonly objects: S3Object[] = [];

  constructor(scope: Construct, id: string, props: UploadsProps) {
    super(scope, id);
    const { bucket, ingestionDate, raw, bundle, params, release } = props;
    this.releasePrefix = releasePrefix(release);

    const file = (name: string, key: string, source: string, contentType: string) => {
      const asset = new TerraformAsset(this, `${name}-asset`, { path: source, type: AssetType.FILE });
      this.objects.push(new S3Object(this, name, { bucket, key, source: asset.path, sourceHash: asset.assetHash, contentType }));
      return key;
    };

    const rawKeys = raw.map((f) => file(`raw-${f.name}`, rawKey(ingestionDate, f.name), f.path, 'text/plain'));
    const runnerParams: Params = {
      ...params,
      sources: raw.map((f, i) => ({ uri: `s3://${bucket}/${rawKeys[i]}`, sha256: f.sha256 })),
      results: `s3://${bucket}/${RESULTS_PREFIX}`,
    };
    const paramsKey = this.releasePrefix + RELEASE_FILES.params;
    this.objects.push(new S3Object(this, 'params', { bucket, key: paramsKey, content: `${JSON.stringify(runnerParams, null, 2)}\n`, contentType: 'application/json' }));

    this.readKeys = [
      file('bundle', this.releasePrefix + RELEASE_FILES.bundle, bundle.bundle, 'text/javascript'),
      file('parser', this.releasePrefix + RELEASE_FILES.parser, bundle.parser, 'text/javascript'),
      file('manifest', this.releasePrefix + RELEASE_FILES.manifest, bundle.manifest, 'application/json'),
      paramsKey,
      ...rawKeys,
    ];
  }
}
