/** Datasets the tests describe by hand: a descriptor, read as the runner reads any. */
import { readDescriptor } from '../../runner/dataset/descriptor.ts';
import { loadDataset } from '../../runner/dataset/dataset.ts';
import type { Dataset, Table } from '../../runner/dataset/model.ts';

/** The dataset a descriptor describes, its relative paths under `dir`. */
export async function datasetOf(descriptor: object, dir = '.'): Promise<Dataset> {
  const noFiles = async () => {
    throw new Error('a test descriptor names no schema or dialect file');
  };
  return (await readDescriptor(descriptor, 'test', { kind: 'local', at: dir }, noFiles)).dataset;
}

/** A one-table dataset of `fields` (Table Schema fields), its CSV files `paths` under `dir`. */
export function oneTable(
  fields: object[],
  o: { name?: string; dialect?: object; schema?: object; paths?: string[]; dir?: string } = {},
): Promise<Dataset> {
  const resource = {
    name: o.name ?? 'things',
    path: o.paths ?? ['things.csv'],
    dialect: o.dialect ?? {},
    schema: { fields, ...o.schema },
  };
  return datasetOf({ name: 'test', resources: [resource] }, o.dir);
}

/** The table of a one-table dataset. */
export const tableOf = async (dataset: Promise<Dataset>): Promise<Table> => (await dataset).tables[0];

/** The built-in Adult dataset, its files read from `dataDir` when given (as --data-dir does). */
export const adult = async (dataDir?: string): Promise<Dataset> => (await loadDataset(null, dataDir)).dataset;
