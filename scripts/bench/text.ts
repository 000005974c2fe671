/**
 * A text-heavy dataset for npm run bench, generated (never committed): quoted strings with
 * commas and doubled quotes, decimals, dates, booleans and empty values, with its Data Package
 * descriptor; loaded by census-etl (`--dataset`, typed and checked) and by the field: the
 * `sqlite3` shell's `.import` into a STRICT table, Python `csv` + `executemany`, and
 * `sqlite-utils insert --csv`, each where installed.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { checked, findPython, measure, type Peer } from './field.ts';

const FIELDS = [
  { name: 'id', type: 'integer', sql: 'INTEGER' },
  { name: 'customer', type: 'string', sql: 'TEXT' },
  { name: 'city', type: 'string', sql: 'TEXT' },
  { name: 'amount', type: 'number', sql: 'REAL' },
  { name: 'day', type: 'date', sql: 'TEXT' },
  { name: 'paid', type: 'boolean', sql: 'TEXT' }, // the field stores true/false as they are
  { name: 'note', type: 'string', sql: 'TEXT' },
] as const;

const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** Writes `rows` records and their descriptor into `dir`; the descriptor's path. */
export async function writeTextDataset(dir: string, rows: number): Promise<string> {
  const file = path.join(dir, 'orders.csv');
  const out = createWriteStream(file);
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const names = ['Smith, Jane', 'O"Brien & Sons', 'Müller GmbH', 'Ng, Lee', 'Acme, Inc.'];
  const cities = ['São Paulo', 'New York, NY', 'Zürich', 'Lyon', ''];
  const notes = ['left at the door, "as asked"', 'call first', '', 'fragile; handle with care, please'];
  out.write(`${FIELDS.map((f) => f.name).join(',')}\n`);
  for (let i = 1; i <= rows; i++) {
    const day = new Date(Date.UTC(2020, 0, 1 + Math.floor(next() * 1800))).toISOString().slice(0, 10);
    const line = [
      i,
      quoted(names[i % names.length]),
      quoted(cities[i % cities.length]),
      (next() * 10_000).toFixed(2),
      day,
      next() < 0.5 ? 'true' : 'false',
      quoted(notes[i % notes.length]),
    ].join(',');
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const descriptor = {
    name: 'orders',
    resources: [
      {
        name: 'orders',
        path: 'orders.csv',
        schema: { fields: FIELDS.map(({ name, type }) => ({ name, type })), primaryKey: 'id' },
      },
    ],
  };
  const at = path.join(dir, 'datapackage.json');
  writeFileSync(at, JSON.stringify(descriptor));
  return at;
}

const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const install = (what: string) => `not installed (Debian: apt-get install ${what})`;

/** The field on the text-heavy file (`dir/orders.csv`), each loader into a new database. */
export function textField(): Peer[] {
  const { python } = findPython('csv');
  const ddl = `CREATE TABLE orders (${FIELDS.map((f) => `"${f.name}" ${f.sql}`).join(', ')}) STRICT;`;
  const file = (dir: string) => path.join(dir, 'orders.csv');
  return [
    {
      name: 'sqlite3 shell .import (STRICT table)',
      python: false,
      skipped: has('sqlite3', '--version') ? undefined : install('sqlite3'),
      run: (dir, db) =>
        measure('sqlite3', [db], {
          input: [ddl, '.mode csv', `.import --skip 1 '${file(dir)}' orders`].join('\n'),
        }),
    },
    {
      name: 'Python csv + executemany',
      python: true,
      skipped: python ? undefined : install('python3'),
      run: (dir, db) => {
        const spec = `${FIELDS.map((f) => `${f.name}:${f.sql}`).join(' ')}\n`;
        const script = path.join(import.meta.dirname, 'csv_executemany.py');
        const env = { CSV_HEADER: '1', CSV_TABLE: 'orders' };
        return checked(measure(python!, [script, db, file(dir)], { input: spec, env }), 'Python csv loader');
      },
    },
    {
      name: 'sqlite-utils insert --csv',
      python: true,
      skipped: has('sqlite-utils', '--version') ? undefined : install('sqlite-utils'),
      run: (dir, db) =>
        checked(measure('sqlite-utils', ['insert', db, 'orders', file(dir), '--csv']), 'sqlite-utils'),
    },
  ];
}
