/**
 * The dataset deploy puts in the raw zone, staged before Terraform sees anything (downloaded,
 * checksums verified, records counted for the schedule check): Adult's two files (from
 * CENSUS_DATA_DIR, else downloaded), or with CENSUS_DATASET the user's descriptor and its files.
 * A user's descriptor is deployed as one document (schemas and dialects read into it) whose
 * paths name the uploaded files, each pinned by its SHA-256: the instance loads exactly those.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { FILES } from '../runner/dataset/adult.ts';
import { loadDataset } from '../runner/dataset/dataset.ts';
import type { Dataset } from '../runner/dataset/model.ts';
import { stageSources, type StagedSource } from '../runner/extract/sources.ts';
import { DEFAULTS } from '../runner/params.ts';
import type { Config } from './config.ts';
import { ROOT } from './layout.ts';

/** A file for the raw zone: its key under the dataset's partition, where it is here, its SHA-256. */
export type RawFile = { key: string; path: string; sha256: string };

export type DeployedDataset = {
  /** The raw zone folder the partitions go in: raw/<folder>/YYYY/MM/DD/. */
  folder: string;
  files: RawFile[];
  /** The descriptor uploaded beside the files (DESCRIPTOR_KEY); null for Adult, built in the loader. */
  descriptor: string | null;
  /** Records in all the files: what the schedule must load within the time limit. */
  records: number;
};

export const ADULT_FOLDER = 'census/adult';
/** The deployed descriptor's key in the partition; its files' keys are relative to it. */
export const DESCRIPTOR_KEY = 'datapackage.json';

/** A name as one safe key segment, or `fallback`: a key is also a path the descriptor names. */
const segment = (name: string, fallback: string) =>
  /^[\w.-]+$/.test(name) && !/^\.\.?$/.test(name) ? name : fallback;

/**
 * The user's descriptor as deployed, and its files' keys: each resource's files under a folder
 * of its own (a file name repeated within a resource, under a numbered one), `hash` pinned for a
 * resource of one file, `censusEtl:hashes` for one of several.
 */
export function deployedDescriptor(dataset: Dataset, staged: readonly StagedSource[]) {
  const files: RawFile[] = [];
  const resources = dataset.descriptor.resources.map((resource, t) => {
    const own = staged.filter((s) => s.table === t);
    const folder = segment(dataset.tables[t].name, `resource-${t + 1}`);
    const names = own.map((s) => s.name);
    const keys = own.map((s, i) =>
      names.indexOf(s.name) === names.lastIndexOf(s.name)
        ? `${folder}/${s.name}`
        : `${folder}/${i + 1}/${s.name}`,
    );
    own.forEach((s, i) => files.push({ key: keys[i], path: s.path, sha256: s.sha256 }));
    const rest = { ...resource } as Record<string, unknown>;
    delete rest.hash;
    delete rest['censusEtl:hashes'];
    const hashes = own.map((s) => `sha256:${s.sha256}`);
    return keys.length === 1
      ? { ...rest, path: keys[0], hash: hashes[0] }
      : { ...rest, path: keys, 'censusEtl:hashes': hashes };
  });
  const text = `${JSON.stringify({ ...dataset.descriptor, resources }, null, 2)}\n`;
  return { text, files };
}

/**
 * Stages the dataset `config` names for the raw zone. Throws what the loader would (a UsageError
 * for a descriptor it refuses, a SourceError for a file it cannot read or verify).
 */
export async function stageDataset(
  config: Pick<Config, 'dataset' | 'dataDir'>,
  log: (line: string) => void,
): Promise<DeployedDataset> {
  const options = { retry: DEFAULTS.retry, log, maxRecordBytes: DEFAULTS.maxRecordBytes };
  const { dataset } = await loadDataset(config.dataset);
  const own = config.dataset && createHash('sha256').update(config.dataset).digest('hex').slice(0, 16);
  const cache = path.join(ROOT, '.cache', own ? `dataset-${own}` : 'dataset');
  if (!config.dataset) {
    // Adult's files from CENSUS_DATA_DIR when set, else downloaded once; pinned checksums either way.
    dataset.tables[0].files = FILES.map((f) => ({
      uri: config.dataDir ? path.resolve(config.dataDir, f.name) : f.url,
      name: f.name,
      hash: `sha256:${f.sha256}`,
    }));
  }
  const { sources } = await stageSources(dataset, cache, options);
  const records = sources.reduce((n, s) => n + s.records, 0);
  if (!config.dataset) {
    const files = sources.map((s) => ({ key: s.name, path: s.path, sha256: s.sha256 }));
    return { folder: ADULT_FOLDER, files, descriptor: null, records };
  }
  const { text, files } = deployedDescriptor(dataset, sources);
  return { folder: `datasets/${segment(dataset.name, 'dataset')}`, files, descriptor: text, records };
}
