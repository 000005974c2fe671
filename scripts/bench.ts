/**
 * npm run bench: the loader's speed and footprint, side by side with the sqlite3 shell's own
 * CSV import on the same files in the same run. Never part of npm test.
 *
 *   BENCH_SCALE=100 (copies of the dataset for the large input), BENCH_REPEAT=2
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { COLUMNS, FILES } from '../runner/dataset.ts';
import { q } from '../runner/sql.ts';
import { percentile } from '../runner/store.ts';
import { buildBundle } from '../infra/bundle.ts';
import { DEV_DATA_DIR as DATA_DIR, ROOT } from '../infra/layout.ts';
const SCALE = Number(process.env.BENCH_SCALE ?? 100);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const work = mkdtempSync(path.join(os.tmpdir(), 'census-bench-'));
// The runner as the instance runs it; inside the project so it finds node_modules' better-sqlite3.
const bundle = buildBundle(path.join(ROOT, 'out', 'bench-bundle')).files.bundle;

type Proc = { ms: number; peakRssMb: number; code: number | null; stdout: string; stderr: string; startedAt: number };

/** Runs a command, polling its peak RSS (VmHWM) until it exits. */
function measure(cmd: string, args: string[], input?: string): Promise<Proc> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, CENSUS_DATA_DIR: '' } });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (input) child.stdin!.end(input);
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited between two polls
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ ms: performance.now() - t0, peakRssMb: Math.round(peak), code, stdout, stderr, startedAt });
    });
  });
}

function loader(args: string[]) {
  return measure(process.execPath, [bundle, 'run', '--unthrottled', ...args]);
}

async function checked(p: Promise<Proc>, what: string): Promise<Proc> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-500)}`);
  return r;
}

const pct = (xs: number[], p: number) => percentile([...xs].sort((a, b) => a - b), p);
const records = (db: string) => {
  const d = new Database(db, { readonly: true });
  const n = d.prepare('SELECT sum(loaded + quarantined) FROM sources').pluck().get() as number;
  d.close();
  return n;
};
/** Per-batch milliseconds (read + clean + insert + checkpoint + commit), from the log lines. */
const batchMs = (log: string) => [...log.matchAll(/ batch \d+\/\d+: .*\| ([\d.]+) ms/g)].map((m) => Number(m[1]));

async function scaledInput(dir: string) {
  for (const f of FILES) {
    const copies = async function* () {
      for (let i = 0; i < SCALE; i++) yield* createReadStream(path.join(DATA_DIR, f.name));
    };
    await pipeline(copies, createWriteStream(path.join(dir, f.name)));
  }
}

/** The sqlite3 shell's .import into a STRICT table with the same column types: no validation. */
async function shellImport(dir: string): Promise<{ rows: number; seconds: number; rowsPerS: number }> {
  const db = path.join(work, 'shell.db');
  rmSync(db, { force: true });
  const ddl = `CREATE TABLE adult (${COLUMNS.map((c) => `${q(c.name)} ${c.kind === 'integer' ? 'INTEGER' : 'TEXT'}`).join(', ')}) STRICT;`;
  const script = [ddl, '.mode csv', ...FILES.map((f) => `.import '${path.join(dir, f.name)}' adult`)].join('\n');
  const r = await measure('sqlite3', [db], script);
  const d = new Database(db, { readonly: true });
  const rows = d.prepare('SELECT count(*) FROM adult').pluck().get() as number;
  d.close();
  return { rows, seconds: r.ms / 1000, rowsPerS: (rows / r.ms) * 1000 };
}

const results: Record<string, unknown> = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`, scale: SCALE };
const line = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);

try {
  // 1 and 6: the real dataset, unthrottled; time from process start to the first commit.
  const realDb = path.join(work, 'real', 'census.db');
  const real = await checked(loader(['--data-dir', DATA_DIR, '--db', realDb, '--log', path.join(work, 'real', 'log')]), 'real run');
  const firstBatchAt = Date.parse(/^(\S+) batch 1\//m.exec(real.stdout)![1]);
  results.real = { records: records(realDb), seconds: real.ms / 1000, rowsPerS: (records(realDb) / real.ms) * 1000, firstBatchMs: firstBatchAt - real.startedAt };

  // 2 and 3: the large input, ours and the shell's alternately, best of REPEAT each.
  const bigDir = path.join(work, 'big');
  mkdirSync(bigDir);
  await scaledInput(bigDir);
  const ours: { records: number; seconds: number; rowsPerS: number; peakRssMb: number; batchMs: number[] }[] = [];
  const shell: { rows: number; seconds: number; rowsPerS: number }[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const db = path.join(work, `big-${i}`, 'census.db');
    const r = await checked(loader(['--data-dir', bigDir, '--db', db, '--log', path.join(work, `big-${i}`, 'log')]), 'large run');
    ours.push({ records: records(db), seconds: r.ms / 1000, rowsPerS: (records(db) / r.ms) * 1000, peakRssMb: r.peakRssMb, batchMs: batchMs(r.stdout) });
    rmSync(path.dirname(db), { recursive: true });
    shell.push(await shellImport(bigDir));
  }
  const bestOurs = ours.reduce((a, b) => (b.rowsPerS > a.rowsPerS ? b : a));
  const bestShell = Math.max(...shell.map((s) => s.rowsPerS));
  results.large = {
    records: 48842 * SCALE,
    ours: ours.map(({ batchMs: _, ...o }) => o),
    shell,
    ratio: bestOurs.rowsPerS / bestShell,
    peakRssMb: Math.max(...ours.map((o) => o.peakRssMb)),
  };

  // 4: per-batch cost of 1,630-record batches, over every batch of the large runs.
  const all = ours.flatMap((o) => o.batchMs);
  results.batch = { batches: all.length, p50Ms: pct(all, 50), p99Ms: pct(all, 99) };

  // 5: schedule accuracy: --every 1 for 20 ticks on a small file.
  const tickDir = path.join(work, 'ticks');
  mkdirSync(tickDir);
  const sample = readFileSync(path.join(DATA_DIR, FILES[0].name), 'utf8').split('\n').slice(0, 200).join('\n') + '\n';
  writeFileSync(path.join(tickDir, FILES[0].name), sample);
  writeFileSync(path.join(tickDir, FILES[1].name), '|no records\n');
  const sched = await checked(
    measure(process.execPath, [bundle, 'run', '--every', '1', '--batch-size', '10', '--data-dir', tickDir, '--db', path.join(tickDir, 'c.db'), '--log', path.join(tickDir, 'log')]),
    'scheduled run',
  );
  const ticks = [...sched.stdout.matchAll(/^(\S+) batch \d+\/\d+: .*\| ([\d.]+) ms \| tick \+(\d+) ms$/gm)].map((m) => {
    const end = Date.parse(m[1]);
    const offset = Number(m[3]);
    return { start: end - Number(m[2]), end, offset };
  });
  const overlaps = ticks.filter((t, i) => i > 0 && t.start < ticks[i - 1].end).length;
  const offsets = ticks.map((t) => t.offset);
  results.schedule = { ticks: ticks.length, offsetP50Ms: pct(offsets, 50), offsetP99Ms: pct(offsets, 99), offsetMaxMs: Math.max(...offsets), overlaps };

  const r = results as any;
  console.log(`\ncensus-etl bench, ${r.date}, ${r.machine}\n`);
  line('1. real dataset, unthrottled', `${r.real.records} records in ${r.real.seconds.toFixed(2)} s = ${Math.round(r.real.rowsPerS)} rows/s`);
  line(`2. ${SCALE}x input, ours (best of ${REPEAT})`, `${Math.round(bestOurs.rowsPerS)} rows/s, peak RSS ${r.large.peakRssMb} MB (target <= 150)`);
  line(`3. ${SCALE}x input, sqlite3 .import (best)`, `${Math.round(bestShell)} rows/s; ours / shell = ${r.large.ratio.toFixed(2)} (target >= 0.8)`);
  line('4. per 1,630-record batch', `p50 ${r.batch.p50Ms} ms, p99 ${r.batch.p99Ms} ms over ${r.batch.batches} batches (target p99 <= 10)`);
  line('5. --every 1, 20 ticks: start offset', `p50 ${r.schedule.offsetP50Ms} ms, p99 ${r.schedule.offsetP99Ms} ms, max ${r.schedule.offsetMaxMs} ms; overlaps: ${r.schedule.overlaps} (target p99 <= 20)`);
  line('6. process start to first commit', `${r.real.firstBatchMs} ms (target <= 1000)`);
  const json = path.join(ROOT, 'out', 'bench.json');
  mkdirSync(path.dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to ${path.relative(ROOT, json)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
