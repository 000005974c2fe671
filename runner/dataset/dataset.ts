/**
 * The dataset of a run: the descriptor it names (a local path, s3:// or https:// URI) or, by
 * default, Adult's, shipped with census-etl. Reads it (bounded in size), checks it and resolves
 * its files; a data folder (`--data-dir`) then stands in for where the files are.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../shared/errors.ts';
import { getObjectBytes } from '../shared/s3.ts';
import { parseS3Uri, redactUri } from '../shared/uri.ts';
import { readDescriptor, type Base } from './descriptor.ts';
import type { Dataset } from './model.ts';
import adult from './adult/datapackage.json' with { type: 'json' };

/** A descriptor is metadata: anything larger is not one (and is not read into memory). */
export const MAX_DESCRIPTOR_BYTES = 4 << 20;

/** What `--dataset` names when no dataset is given. */
export const BUILT_IN = 'adult (built in)';

async function readBounded(uri: string): Promise<Buffer> {
  const tooLarge = () =>
    new UsageError(`${redactUri(uri)} is larger than ${MAX_DESCRIPTOR_BYTES} bytes: not a descriptor`);
  if (uri.startsWith('s3://')) {
    const bytes = await getObjectBytes(parseS3Uri(uri), { maxBytes: MAX_DESCRIPTOR_BYTES });
    if (bytes.length > MAX_DESCRIPTOR_BYTES) throw tooLarge();
    return bytes;
  }
  if (uri.startsWith('https://')) {
    const res = await fetch(uri, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MAX_DESCRIPTOR_BYTES) throw tooLarge();
    return bytes;
  }
  if ((await stat(uri)).size > MAX_DESCRIPTOR_BYTES) throw tooLarge();
  return readFile(uri);
}

/** A JSON document of the dataset (the descriptor, or a schema or dialect it names). */
async function readJson(uri: string): Promise<unknown> {
  const bytes = await readBounded(uri).catch((e: Error) => {
    throw e instanceof UsageError ? e : new UsageError(`cannot read ${redactUri(uri)}: ${e.message}`);
  });
  try {
    return JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UsageError(`${redactUri(uri)} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Where a descriptor's relative paths start. */
function baseOf(uri: string): Base {
  // An S3 key is text as it is, never percent-encoded: its folder is what precedes the last "/".
  if (uri.startsWith('s3://')) return { kind: 'remote', at: uri.slice(0, uri.lastIndexOf('/') + 1) };
  if (uri.startsWith('https://')) return { kind: 'remote', at: new URL('.', uri).href };
  return { kind: 'local', at: path.dirname(uri) };
}

export type LoadedDataset = { dataset: Dataset; origin: string; notes: string[] };

/**
 * The dataset at `location` (null: Adult's built-in descriptor). With `dataDir`, every file is
 * read from that folder under its own name, as it is there (the descriptor's hashes are for the
 * files it names, not for stand-ins).
 */
export async function loadDataset(location: string | null, dataDir?: string): Promise<LoadedDataset> {
  const origin = location ? redactUri(location) : BUILT_IN;
  const descriptor = location ? await readJson(location) : adult;
  const base = location
    ? baseOf(location)
    : { kind: 'local' as const, at: path.dirname(fileURLToPath(import.meta.url)) };
  const { dataset, notes } = await readDescriptor(descriptor, origin, base, readJson);
  if (dataDir) {
    for (const t of dataset.tables) {
      t.files = t.files.map((f) => ({ ...f, uri: path.join(dataDir, f.name), hash: null }));
    }
  }
  return { dataset, origin, notes };
}
