/**
 * Adult, the built-in dataset, as plain values read from its descriptor (adult/datapackage.json,
 * the one definition): its files with their pinned checksums, for the deploy that uploads them
 * and the twin; its columns, for the tests and the benchmark that write Adult-shaped records.
 */
import path from 'node:path';
import adult from './adult/datapackage.json' with { type: 'json' };

export type IntegerColumn = { name: string; kind: 'integer'; min: number; max: number };
export type NominalColumn = { name: string; kind: 'nominal'; domain: readonly string[] };
export type Column = IntegerColumn | NominalColumn;

type RawField = {
  name: string;
  type: string;
  constraints?: { minimum?: number; maximum?: number; enum?: string[] };
};
const resource = adult.resources[0];

/** The 15 attributes, in file order, named exactly as in `Description`. */
export const COLUMNS: readonly Column[] = (resource.schema.fields as RawField[]).map((f) =>
  f.type === 'integer'
    ? { name: f.name, kind: 'integer', min: f.constraints!.minimum!, max: f.constraints!.maximum! }
    : { name: f.name, kind: 'nominal', domain: f.constraints!.enum! },
);

export type PublishedFile = { name: string; url: string; sha256: string };

/** The files as published, loaded in this order, with their pinned SHA-256. */
export const FILES: readonly PublishedFile[] = resource.path.map((url, i) => ({
  name: path.posix.basename(url),
  url,
  sha256: resource['censusEtl:hashes'][i].replace(/^sha256:/, ''),
}));
