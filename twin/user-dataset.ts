/**
 * A dataset of the user's for the journey's CENSUS_DATASET stage: a Data Package of two
 * resources (one with a record that breaks its field, one of two same-named files), written to
 * a folder; its descriptor's path and the row counts a load of it gives.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeUserDataset(dir: string): { descriptor: string; rows: Record<string, number> } {
  const files = {
    'airports.csv':
      'code,name,elevation\nCDG,Paris Charles de Gaulle,119\nLIS,Lisboa,114\nXXX,Nowhere,high\n',
    'north/flights.csv': 'flight,minutes\nAF1,95\nTP2,150\n',
    'south/flights.csv': 'flight,minutes\nIB3,70\n',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const descriptor = {
    name: 'travel',
    resources: [
      {
        name: 'airports',
        path: 'airports.csv',
        schema: {
          fields: [{ name: 'code' }, { name: 'name' }, { name: 'elevation', type: 'integer' }],
          primaryKey: 'code',
        },
      },
      {
        name: 'flights',
        path: ['north/flights.csv', 'south/flights.csv'],
        schema: { fields: [{ name: 'flight' }, { name: 'minutes', type: 'integer' }] },
      },
    ],
  };
  const file = path.join(dir, 'datapackage.json');
  writeFileSync(file, `${JSON.stringify(descriptor, null, 2)}\n`);
  return { descriptor: file, rows: { airports: 2, flights: 3, quarantine: 1 } };
}
