/**
 * The PostgreSQL COPY path measured for the team (not a test), on a throwaway cluster:
 * 200,000 rows of 8 columns (integers, doubles, short and long text with commas, quotes and
 * newlines, dates, booleans, NULLs) loaded as the store will load them, one COPY csv stream per
 * 1,630-row batch with the batch's checkpoint UPDATE in the same transaction; beside it, the
 * encoding alone and one COPY of every row (the ceiling). Each is run 3 times: the median run.
 *   node --import tsx scripts/bench/pg-copy.ts [rows]
 */
import os from 'node:os';
import pg from 'pg';
import { copyRows, csvRow, type CsvValue } from '../../runner/store/postgres/copy.ts';
import { postgresSettings } from '../../runner/store/postgres/settings.ts';
import { startPostgres } from '../../test/support/postgres.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const BATCH = 1_630;
const RUNS = 3;
const COLUMNS = ['id', 'amount', 'ratio', 'code', 'note', 'day', 'flag', 'parent'];
const TABLE = `CREATE TABLE rows (id integer, amount float8, ratio float8, code text, note text,
  day date, flag boolean, parent integer)`;

/** Deterministic values (a linear congruential generator), awkward ones included. */
function makeRows(n: number): CsvValue[][] {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const notes = ['plain words', 'a, comma', 'say "hi"', 'two\nlines', 'ünïcödé ✓', ''];
  return Array.from({ length: n }, (_, i) => [
    i,
    Math.round(next() * 1e8) / 100,
    next() * 1e-3,
    `C${Math.floor(next() * 1000)}`,
    next() < 0.1 ? null : `${notes[i % notes.length]} `.repeat(1 + Math.floor(next() * 12)),
    new Date(Date.UTC(2000, 0, 1 + Math.floor(next() * 9000))).toISOString().slice(0, 10),
    next() < 0.5,
    next() < 0.3 ? null : Math.floor(next() * i),
  ]);
}

const encode = (rows: CsvValue[][]) => Buffer.from(rows.map(csvRow).join(''));
const batchesOf = <T>(xs: T[]) =>
  Array.from({ length: Math.ceil(xs.length / BATCH) }, (_, b) => xs.slice(b * BATCH, (b + 1) * BATCH));
const nearestRank = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];

type Run = { rowsPerS: number; batchMs: number[] };

/** Every batch in its own transaction: COPY its rows, move the checkpoint, COMMIT. */
async function batched(client: pg.Client, rows: CsvValue[][], preEncoded: Buffer[] | null): Promise<Run> {
  const batchMs: number[] = [];
  const t0 = performance.now();
  for (const [b, batch] of batchesOf(rows).entries()) {
    const start = performance.now();
    const csv = preEncoded?.[b] ?? encode(batch);
    await client.query('BEGIN');
    await copyRows(client, 'rows', COLUMNS, csv);
    await client.query('UPDATE checkpoint SET batch = $1, rows = rows + $2', [b + 1, batch.length]);
    await client.query('COMMIT');
    batchMs.push(performance.now() - start);
  }
  return { rowsPerS: rows.length / ((performance.now() - t0) / 1000), batchMs };
}

async function oneCopy(client: pg.Client, rows: CsvValue[][]): Promise<Run> {
  const t0 = performance.now();
  await client.query('BEGIN');
  await copyRows(client, 'rows', COLUMNS, encode(rows));
  await client.query('COMMIT');
  return { rowsPerS: rows.length / ((performance.now() - t0) / 1000), batchMs: [] };
}

function encodeOnly(rows: CsvValue[][]): Run {
  const t0 = performance.now();
  let bytes = 0;
  for (const batch of batchesOf(rows)) bytes += encode(batch).length;
  if (bytes === 0) throw new Error('nothing encoded');
  return { rowsPerS: rows.length / ((performance.now() - t0) / 1000), batchMs: [] };
}

const cluster = await startPostgres();
const client = new pg.Client(postgresSettings(cluster.superuserUrl).client);
client.on('error', (e) => console.error(e));
try {
  await client.connect();
  await client.query(TABLE);
  await client.query('CREATE TABLE checkpoint (batch integer NOT NULL, rows integer NOT NULL)');
  const rows = makeRows(ROWS);
  const preEncoded = batchesOf(rows).map(encode);
  const megabytes = preEncoded.reduce((n, b) => n + b.length, 0) / 2 ** 20;
  /** Each variant, and the rows it leaves in the table. */
  const variants: [string, () => Promise<Run> | Run, number][] = [
    ['encode only (csvRow, per batch)', () => encodeOnly(rows), 0],
    [
      `COPY per ${BATCH.toLocaleString('en')}-row batch + checkpoint`,
      () => batched(client, rows, null),
      ROWS,
    ],
    ['  the same, rows encoded beforehand', () => batched(client, rows, preEncoded), ROWS],
    [`one COPY of all ${ROWS.toLocaleString('en')} rows`, () => oneCopy(client, rows), ROWS],
  ];
  const version = (await client.query('SHOW server_version')).rows[0].server_version;
  console.log(
    `${ROWS.toLocaleString('en')} rows x 8 columns, ${megabytes.toFixed(1)} MB of CSV; PostgreSQL ` +
      `${version} on loopback, fsync on; Node ${process.versions.node}, ${os.cpus().length} CPUs`,
  );
  console.log(
    `${'variant'.padEnd(44)}${'rows/s'.padStart(10)}${'batch p50'.padStart(12)}${'batch p99'.padStart(12)}`,
  );
  for (const [label, variant, loads] of variants) {
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      await client.query('TRUNCATE rows; TRUNCATE checkpoint; INSERT INTO checkpoint VALUES (0, 0)');
      runs.push(await variant());
      const loaded = Number((await client.query('SELECT count(*) AS n FROM rows')).rows[0].n);
      if (loaded !== loads) throw new Error(`${label}: ${loaded} rows loaded, not ${loads}`);
    }
    const median = runs.sort((a, b) => a.rowsPerS - b.rowsPerS)[Math.floor(RUNS / 2)];
    const ms = median.batchMs.sort((a, b) => a - b);
    const shown = (p: number) => (ms.length ? `${nearestRank(ms, p).toFixed(2)} ms` : '');
    const rate = Math.round(median.rowsPerS).toLocaleString('en');
    console.log(`${label.padEnd(44)}${rate.padStart(10)}${shown(50).padStart(12)}${shown(99).padStart(12)}`);
  }
} finally {
  await client.end();
  cluster.stop();
}
