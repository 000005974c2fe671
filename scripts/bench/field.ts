/**
 * The field: the loaders a user would pick instead of census-etl, run by npm run bench on the
 * same files, each where it is installed, and what each left in its table.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { COLUMNS, FILES } from '../../runner/dataset/adult.ts';
import { q, sqlString } from '../../runner/shared/sql.ts';

/** A finished command: wall time, peak RSS, CPU seconds (all threads, and its main thread alone). */
export type Proc = {
  ms: number;
  peakRssMb: number;
  cpuS: number;
  mainCpuS: number;
  code: number | null;
  stdout: string;
  stderr: string;
  startedAt: number;
};

/** User + system seconds of a /proc stat line (fields 14 and 15, in clock ticks of 1/100 s). */
const cpuSeconds = (stat: string) => {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Runs a command to its end, polling its peak RSS (VmHWM) and CPU time (to its last poll). */
export function measure(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Proc> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let cpuS = 0;
    let mainCpuS = 0;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        cpuS = cpuSeconds(readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
        mainCpuS = cpuSeconds(readFileSync(`/proc/${child.pid}/task/${child.pid}/stat`, 'utf8'));
      } catch {
        // exited between two polls
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      const ms = performance.now() - t0;
      resolve({ ms, peakRssMb: Math.round(peak), cpuS, mainCpuS, code, stdout, stderr, startedAt });
    });
  });
}

/** One loader's best round: its speed, cost and the rows it left (loaded, or whatever it stored). */
export type LoaderRun = {
  name: string;
  python: boolean;
  rowsPerS: number;
  peakRssMb: number;
  cpuS: number;
  rows: number;
};

/** Each loader's best round, with the highest peak RSS of its rounds, in the order they first ran. */
export function bestRounds<T extends { name: string; rowsPerS: number; peakRssMb: number }>(
  runs: readonly T[],
): T[] {
  return [...new Set(runs.map((r) => r.name))].map((name) => {
    const all = runs.filter((r) => r.name === name);
    const top = all.reduce((a, b) => (b.rowsPerS > a.rowsPerS ? b : a));
    return { ...top, peakRssMb: Math.max(...all.map((r) => r.peakRssMb)) };
  });
}

/** The loaders not run here, and why. */
export const skippedOf = (peers: readonly { name: string; skipped?: string }[]) =>
  peers.flatMap((p) => (p.skipped ? [{ name: p.name, why: p.skipped }] : []));

/** Per-batch milliseconds (read + clean + insert + checkpoint + commit), from census-etl's log lines. */
export const batchMsOf = (log: string) =>
  [...log.matchAll(/ batch \d+\/\d+: .*\| ([\d.]+) ms/g)].map((m) => Number(m[1]));

export async function checked(p: Promise<Proc>, what: string): Promise<Proc> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-500)}`);
  return r;
}

/** What a loader left in its table `adult` (the first 15 columns, by position). */
export type Left = { rows: number; cleanClass: number; integersAsText: number; junkRows: number };

export function inspect(db: string): Left {
  const d = new Database(db, { readonly: true });
  try {
    const all = d.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('adult') as string[];
    const names = all.slice(0, COLUMNS.length).map(q);
    const integers = names.filter((_, i) => COLUMNS[i].kind === 'integer');
    const classes = (COLUMNS.at(-1)! as { domain: readonly string[] }).domain.map(sqlString).join(', ');
    // A blank or comment line stored as a row: its first field starts with "|", or it holds nothing.
    const empty = names.map((n) => `coalesce(trim(${n}), '') = ''`).join(' AND ');
    const junk = `${names[0]} LIKE '|%' OR (${empty})`;
    return d
      .prepare(
        `SELECT count(*) AS rows, coalesce(sum(${names.at(-1)} IN (${classes})), 0) AS cleanClass,
           coalesce(sum(${integers.map((n) => `typeof(${n}) = 'text'`).join(' OR ')}), 0) AS integersAsText,
           coalesce(sum(${junk}), 0) AS junkRows FROM adult`,
      )
      .get() as Left;
  } finally {
    d.close();
  }
}

/** A loader of the field: how to run it on the two files into a new database, or why it can't run here. */
export type Peer = {
  name: string;
  python: boolean;
  skipped?: string;
  run: (dir: string, db: string) => Promise<Proc>;
};

const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const files = (dir: string) => FILES.map((f) => path.join(dir, f.name));
/** "name:TYPE ..." for the Python loaders: the dataset's columns and SQL types. */
const sqlType = (c: (typeof COLUMNS)[number]) => (c.kind === 'integer' ? 'INTEGER' : 'TEXT');
const columnSpec = `${COLUMNS.map((c) => `${c.name}:${sqlType(c)}`).join(' ')}\n`;
const script = (name: string) => path.join(import.meta.dirname, name);

/** The first Python 3 that has `module` (Debian's, when another python3 comes first on PATH), else any. */
export function findPython(module: string): { python?: string; found: boolean } {
  const candidates = ['python3', '/usr/bin/python3'].filter((p) => has(p, '--version'));
  const withIt = candidates.find((p) => has(p, '-c', `import ${module}`));
  return { python: withIt ?? candidates[0], found: withIt !== undefined };
}

export function field(scale: number): Peer[] {
  const { python, found: pandas } = findPython('pandas');
  const install = (what: string) => `not installed (Debian: apt-get install ${what})`;
  const ddl = `CREATE TABLE adult (${COLUMNS.map((c) => `${q(c.name)} ${sqlType(c)}`).join(', ')}) STRICT;`;
  // read_csv holds a whole file: about 16 MB per copy of the dataset (1.55 GB at 100x).
  const pandasGb = Math.round((scale * 16) / 1000);
  const pandasSkipped = !pandas
    ? install('python3-pandas')
    : pandasGb > 8
      ? `skipped at this scale (read_csv would hold about ${pandasGb} GB)`
      : undefined;
  const python3 = (loader: string, what: string) => (dir: string, db: string) =>
    checked(measure(python!, [script(loader), db, ...files(dir)], { input: columnSpec }), what);
  return [
    {
      name: 'sqlite3 shell .import (STRICT table)',
      python: false,
      skipped: has('sqlite3', '--version') ? undefined : install('sqlite3'),
      run: (dir, db) => {
        const imports = files(dir).map((f) => `.import '${f}' adult`);
        return measure('sqlite3', [db], { input: [ddl, '.mode csv', ...imports].join('\n') });
      },
    },
    {
      name: 'Python csv + executemany',
      python: true,
      skipped: python ? undefined : install('python3'),
      run: python3('csv_executemany.py', 'Python csv loader'),
    },
    {
      name: 'pandas read_csv + to_sql',
      python: true,
      skipped: pandasSkipped,
      run: python3('pandas_to_sql.py', 'pandas loader'),
    },
    {
      name: 'sqlite-utils insert --csv',
      python: true,
      skipped: has('sqlite-utils', '--version') ? undefined : install('sqlite-utils'),
      run: async (dir, db) => {
        // One command per file, as a user would type them; the time and peak RSS of both.
        const runs: Proc[] = [];
        for (const f of files(dir)) {
          const args = ['insert', db, 'adult', f, '--csv', '--no-headers'];
          runs.push(await checked(measure('sqlite-utils', args), 'sqlite-utils'));
        }
        const sum = (k: 'ms' | 'cpuS' | 'mainCpuS') => runs.reduce((n, r) => n + r[k], 0);
        const peakRssMb = Math.max(...runs.map((r) => r.peakRssMb));
        return { ...runs[0], ms: sum('ms'), cpuS: sum('cpuS'), mainCpuS: sum('mainCpuS'), peakRssMb };
      },
    },
  ];
}
