/**
 * The PostgreSQL rows of npm run bench, on one throwaway cluster, the same large input as the
 * SQLite field: census-etl into PostgreSQL (COPY per batch, typed, checked, exactly once);
 * `psql \copy` of the same raw files into 15 text columns (the engine's own bulk path,
 * validating nothing; `grep` drops the two lines COPY cannot read, the blank one and the test
 * file's comment); pgloader and Python psycopg (COPY, 1,630 rows per transaction) where
 * installed. Each loads into a database of its own; the rows each left are counted.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FILES } from '../../runner/dataset/adult.ts';
import { postgresBin, startPostgres } from '../../test/support/postgres.ts';
import {
  batchMsOf,
  bestRounds,
  checked,
  findPython,
  measure,
  skippedOf,
  type LoaderRun,
  type Proc,
} from './field.ts';

export type PostgresField = {
  loaders: LoaderRun[];
  skipped: { name: string; why: string }[];
  /** census-etl's per-batch milliseconds (read, clean, COPY, checkpoint, commit), all rounds. */
  batchMs: number[];
};

const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const install = (what: string) => `not installed (Debian: apt-get install ${what})`;
const TEXT_TABLE = `CREATE TABLE adult (${Array.from({ length: 15 }, (_, i) => `c${i} text`).join(', ')})`;

/** A pgloader command file: the raw files as CSV into 15 text columns, bad lines rejected. */
function pgloaderCommand(files: string[], url: string): string {
  const columns = Array.from({ length: 15 }, (_, i) => `c${i}`).join(', ');
  return files
    .map(
      (f) => `LOAD CSV FROM '${f}' (${columns}) INTO ${url} TARGET TABLE adult (${columns})
  WITH fields terminated by ',', fields not enclosed, batch rows = 1630;`,
    )
    .join('\n');
}

/**
 * The loaders, `rounds` times each, alternating, on the files of `dir` (`total` records);
 * census-etl is the `bundle` as the instance runs it. The best round per loader is kept.
 */
export async function postgresField(
  dir: string,
  total: number,
  bundle: string,
  work: string,
  rounds: number,
): Promise<PostgresField | { skipped: string }> {
  if (!postgresBin()) return { skipped: install('postgresql') };
  const cluster = await startPostgres();
  const files = FILES.map((f) => path.join(dir, f.name));
  const count = (db: string, sql: string) => Number(cluster.sql(sql, db).split('\n')[0] || 0);
  let made = 0;
  const fresh = (name: string) => {
    const db = `${name}_${++made}`;
    cluster.createDatabase(db);
    return { db, url: cluster.url({ database: db }) };
  };
  const { python, found: psycopg } = findPython('psycopg');
  const peers: { name: string; python: boolean; skipped?: string; run: () => Promise<[Proc, number]> }[] = [
    {
      name: 'census-etl into PostgreSQL',
      python: false,
      run: async () => {
        const { db, url } = fresh('ours');
        const log = path.join(work, `${db}.log`);
        const args = [bundle, 'run', '--unthrottled', '--data-dir', dir, '--db', url, '--log', log];
        const p = await checked(measure(process.execPath, args, { env: { CENSUS_DATA_DIR: '' } }), db);
        const accounted = count(db, 'SELECT sum(loaded + quarantined) FROM sources');
        if (accounted !== total)
          throw new Error(`census-etl accounted for ${accounted} records, not ${total}`);
        return [p, count(db, 'SELECT count(*) FROM adult')];
      },
    },
    {
      name: 'psql \\copy (15 text columns)',
      python: false,
      skipped: has('psql', '--version') ? undefined : install('postgresql-client'),
      run: async () => {
        const { db, url } = fresh('psql');
        cluster.sql(TEXT_TABLE, db);
        const program = `grep -h , ${files.join(' ')}`;
        const copy = `\\copy adult FROM PROGRAM '${program}' WITH (FORMAT csv)`;
        const p = await checked(measure('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', copy]), db);
        return [p, count(db, 'SELECT count(*) FROM adult')];
      },
    },
    {
      name: 'pgloader (15 text columns)',
      python: false,
      skipped: has('pgloader', '--version') ? undefined : install('pgloader'),
      run: async () => {
        const { db, url } = fresh('pgloader');
        cluster.sql(TEXT_TABLE, db);
        const command = path.join(work, `${db}.load`);
        writeFileSync(command, pgloaderCommand(files, url.replace(/\?.*$/, '')));
        const p = await checked(measure('pgloader', ['--quiet', command]), db);
        return [p, count(db, 'SELECT count(*) FROM adult')];
      },
    },
    {
      name: 'Python csv + psycopg COPY',
      python: true,
      skipped: psycopg ? undefined : install('python3-psycopg'),
      run: async () => {
        const { db, url } = fresh('psycopg');
        const script = path.join(import.meta.dirname, 'psycopg_copy.py');
        const p = await checked(measure(python!, [script, url, ...files]), db);
        return [p, count(db, 'SELECT count(*) FROM adult')];
      },
    },
  ];
  const runs: LoaderRun[] = [];
  const batchMs: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      console.error(`round ${round}/${rounds}: PostgreSQL`);
      for (const peer of peers.filter((p) => !p.skipped)) {
        const [p, rows] = await peer.run();
        const { peakRssMb, cpuS } = p;
        runs.push({
          name: peer.name,
          python: peer.python,
          rowsPerS: (total / p.ms) * 1000,
          peakRssMb,
          cpuS,
          rows,
        });
        if (peer.name.startsWith('census-etl')) batchMs.push(...batchMsOf(p.stdout));
      }
    }
  } finally {
    cluster.stop();
  }
  return { loaders: bestRounds(runs), skipped: skippedOf(peers), batchMs };
}
