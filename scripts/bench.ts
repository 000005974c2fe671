/**
 * npm run bench: the loader's speed and footprint, beside the loaders a user would pick instead
 * (the field: the sqlite3 shell's .import, Python csv + executemany, pandas, sqlite-utils) and
 * beside its own two stages measured apart (parsing alone; inserting alone, the ceiling), all
 * on the same files in the same run, alternating. Never part of npm test.
 *
 *   BENCH_SCALE=100 (copies of the dataset in the large input)   BENCH_REPEAT=2 (rounds; best kept)
 *   BENCH_ONLY=ours (only census-etl on the large input: for RSS at BENCH_SCALE=1000)
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { svgToPng } from '../runner/browser.ts';
import { countChart, renderSvg } from '../runner/charts.ts';
import { FILES } from '../runner/dataset.ts';
import { parserThreads } from '../runner/lines.ts';
import { DEFAULTS } from '../runner/params.ts';
import { percentile } from '../runner/store.ts';
import { buildBundle } from '../infra/bundle.ts';
import { DEV_DATA_DIR as DATA_DIR, ROOT } from '../infra/layout.ts';
import { checked, field, inspect, measure, type Left, type Proc } from './bench/field.ts';
import { insertOnly, parseOnly, stage } from './bench/stages.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 100);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const ONLY_OURS = process.env.BENCH_ONLY === 'ours';
const work = mkdtempSync(path.join(os.tmpdir(), 'census-bench-'));
// The runner as the instance runs it; inside the project so it finds node_modules' better-sqlite3.
const bundle = buildBundle(path.join(ROOT, 'out', 'bench-bundle')).files.bundle;
const THREADS = parserThreads();
/** The other parser thread count shown beside the default: 1 where the default is more, else 2. */
const OTHER_THREADS = THREADS > 1 ? 1 : 2;

function loader(dir: string, name: string, threads = THREADS): Promise<Proc> {
  const out = path.join(work, name);
  const args = ['run', '--unthrottled', '--data-dir', dir, '--db', path.join(out, 'census.db'), '--log', path.join(out, 'log')];
  return checked(measure(process.execPath, [bundle, ...args], { env: { CENSUS_DATA_DIR: '', CENSUS_PARSER_THREADS: String(threads) } }), name);
}

const records = (db: string) => {
  const d = new Database(db, { readonly: true });
  const n = d.prepare('SELECT sum(loaded + quarantined) FROM sources').pluck().get() as number;
  d.close();
  return n;
};
const pct = (xs: number[], p: number) => percentile([...xs].sort((a, b) => a - b), p);
/** Per-batch milliseconds (read + clean + insert + checkpoint + commit), from the log lines. */
const batchMs = (log: string) => [...log.matchAll(/ batch \d+\/\d+: .*\| ([\d.]+) ms/g)].map((m) => Number(m[1]));
const best = <T>(xs: T[], by: (x: T) => number) => xs.reduce((a, b) => (by(b) > by(a) ? b : a));
const int = (n: number) => Math.round(n).toLocaleString('en-US');

async function scaledInput(dir: string) {
  mkdirSync(dir);
  for (const f of FILES) {
    const copies = async function* () {
      for (let i = 0; i < SCALE; i++) yield* createReadStream(path.join(DATA_DIR, f.name));
    };
    await pipeline(copies, createWriteStream(path.join(dir, f.name)));
  }
}

type Run = { name: string; rowsPerS: number; peakRssMb: number; cpuS: number; mainCpuS: number; left: Left; batchMs?: number[] };
const machine = `${os.availableParallelism()} cores, ${os.cpus()[0]?.model.trim() ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}`;
const results: Record<string, unknown> = { date: new Date().toISOString(), machine, scale: SCALE, repeat: REPEAT, parserThreads: THREADS };
const line = (k: string, v: string) => console.log(`${k.padEnd(46)} ${v}`);

try {
  // The real dataset, unthrottled: its record count scales the large input; time to first commit.
  const real = await loader(DATA_DIR, 'real');
  const realDb = path.join(work, 'real', 'census.db');
  const perCopy = records(realDb);
  const firstBatchAt = Date.parse(/^(\S+) batch 1\//m.exec(real.stdout)![1]);
  results.real = { records: perCopy, seconds: real.ms / 1000, rowsPerS: (perCopy / real.ms) * 1000, firstBatchMs: firstBatchAt - real.startedAt };

  const big = path.join(work, 'big');
  await scaledInput(big);
  const total = perCopy * SCALE;
  const staged = ONLY_OURS ? [] : await stage(big, path.join(work, 'staged'));
  const peers = ONLY_OURS ? [] : field(SCALE);
  const runs: Run[] = [];
  const rates = (r: Proc) => ({ rowsPerS: (total / r.ms) * 1000, peakRssMb: r.peakRssMb, cpuS: r.cpuS, mainCpuS: r.mainCpuS });
  const ceiling: number[] = [];
  const ceilingCpuS: number[] = [];
  const parsing = new Map<number, number[]>();
  const parseThreads = [...new Set([1, Math.min(os.availableParallelism(), Math.max(2, THREADS))])];
  const fresh = (name: string) => {
    rmSync(path.join(work, name), { recursive: true, force: true });
    mkdirSync(path.join(work, name));
    return path.join(work, name, 'census.db');
  };
  for (let round = 1; round <= REPEAT; round++) {
    console.error(`round ${round}/${REPEAT}: census-etl${ONLY_OURS ? '' : ', the field, the stages apart'}…`);
    for (const threads of ONLY_OURS ? [THREADS] : [THREADS, OTHER_THREADS]) {
      const name = `census-etl, ${threads} parser thread${threads > 1 ? 's' : ''}`;
      const db = fresh('ours');
      const r = await loader(big, 'ours', threads);
      if (records(db) !== total) throw new Error(`${name} accounted for ${records(db)} records, not ${total}`);
      runs.push({ name, ...rates(r), left: inspect(db), batchMs: threads === THREADS ? batchMs(r.stdout) : undefined });
    }
    for (const peer of peers.filter((p) => !p.skipped)) {
      const db = fresh('peer');
      const r = await peer.run(big, db);
      runs.push({ name: peer.name, ...rates(r), left: inspect(db) });
    }
    if (ONLY_OURS) continue;
    const alone = await insertOnly(staged, fresh('ceiling'), DEFAULTS.batchSize);
    ceiling.push(alone.recordsPerS);
    ceilingCpuS.push(alone.cpuS);
    for (const n of parseThreads) parsing.set(n, [...(parsing.get(n) ?? []), (await parseOnly(staged, n)).linesPerS]);
  }

  // Best of the rounds, per loader, in the order they ran.
  const loaders = [...new Set(runs.map((r) => r.name))].map((name) => {
    const all = runs.filter((r) => r.name === name);
    return { ...best(all, (r) => r.rowsPerS), peakRssMb: Math.max(...all.map((r) => r.peakRssMb)), python: peers.find((p) => p.name === name)?.python ?? false };
  });
  const ours = loaders[0];
  const batches = runs.filter((r) => r.batchMs).flatMap((r) => r.batchMs!);
  results.large = { records: total, loaders: loaders.map(({ batchMs: _, ...l }) => l), skipped: peers.filter((p) => p.skipped).map((p) => ({ name: p.name, why: p.skipped })) };
  results.batch = { batches: batches.length, p50Ms: pct(batches, 50), p99Ms: pct(batches, 99) };

  console.log(`\ncensus-etl bench, ${results.date}, ${machine}\n`);
  const real_ = results.real as { records: number; seconds: number; rowsPerS: number; firstBatchMs: number };
  line('real dataset, unthrottled', `${int(real_.records)} records in ${real_.seconds.toFixed(2)} s = ${int(real_.rowsPerS)} rows/s (process start to exit)`);
  line(`${SCALE}x input (${int(total)} records): census-etl`, `${int(ours.rowsPerS)} rows/s, peak RSS ${ours.peakRssMb} MB (target <= 150)`);
  line('per 1,630-record batch, unthrottled', `p50 ${results.batch && pct(batches, 50)} ms, p99 ${pct(batches, 99)} ms over ${batches.length} batches (target p99 <= 10)`);

  if (!ONLY_OURS) {
    const shell = loaders.find((l) => l.name.startsWith('sqlite3'));
    const python = loaders.filter((l) => l.python);
    const fastestPython = python.length ? best(python, (l) => l.rowsPerS) : undefined;
    const bounds = [
      { by: 'the insert-only ceiling (0.95 x)', rowsPerS: 0.95 * Math.max(...ceiling) },
      ...(shell ? [{ by: "the sqlite3 shell's .import (0.8 x)", rowsPerS: 0.8 * shell.rowsPerS }] : []),
    ];
    const bound = bounds.reduce((a, b) => (b.rowsPerS < a.rowsPerS ? b : a));
    const parse = Object.fromEntries([...parsing].map(([n, xs]) => [n, Math.max(...xs)]));
    results.stages = { insertOnlyRowsPerS: Math.max(...ceiling), insertOnlyCpuS: Math.min(...ceilingCpuS), parseOnlyLinesPerS: parse };
    results.targets = { bound: bound.by, boundRowsPerS: bound.rowsPerS, met: ours.rowsPerS >= bound.rowsPerS, fastestPython: fastestPython?.name, vsFastestPython: fastestPython && ours.rowsPerS / fastestPython.rowsPerS };
    line('inserting alone (ceiling: parsing done before)', `${int(Math.max(...ceiling))} rows/s; census-etl / ceiling = ${(ours.rowsPerS / Math.max(...ceiling)).toFixed(2)}`);
    // CPU time moves less than wall time when other work shares the machine.
    line('  CPU of the inserting thread, per million rows', `census-etl ${((ours.mainCpuS / total) * 1e6).toFixed(2)} s (whole run: start, staging, load), inserting alone ${((Math.min(...ceilingCpuS) / total) * 1e6).toFixed(2)} s`);
    if (shell) line("sqlite3 shell's .import", `${int(shell.rowsPerS)} rows/s; census-etl / shell = ${(ours.rowsPerS / shell.rowsPerS).toFixed(2)}`);
    line('target: the lower of the two bounds', `${int(bound.rowsPerS)} rows/s, set by ${bound.by}: ${ours.rowsPerS >= bound.rowsPerS ? 'met' : 'NOT met'}`);
    if (fastestPython) line(`fastest Python loader: ${fastestPython.name}`, `census-etl / it = ${(ours.rowsPerS / fastestPython.rowsPerS).toFixed(2)} (target >= 1.5)`);
    line('parsing alone, lines/s by parser threads', parseThreads.map((n) => `${n}: ${int(parse[n])}`).join(', ') + ` (census-etl runs ${THREADS} here)`);

    console.log(`\nThe field, ${SCALE}x input, best of ${REPEAT} (rows/s = input records / wall time, process start to exit):\n`);
    const table = [
      '| loader | rows/s | CPU s | peak RSS | rows stored | class one of the two values | integers stored as text | rows from blank/comment lines |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...loaders.map((l) => `| ${l.name} | ${int(l.rowsPerS)} | ${l.cpuS.toFixed(1)} | ${l.peakRssMb} MB | ${int(l.left.rows)} | ${int(l.left.cleanClass)} | ${int(l.left.integersAsText)} | ${int(l.left.junkRows)} |`),
      ...peers.filter((p) => p.skipped).map((p) => `| ${p.name} | ${p.skipped} | | | | | | |`),
    ].join('\n');
    console.log(table);
    results.fieldTable = table;

    const chart = countChart(
      `Rows per second loading the Adult dataset ${SCALE} times (${int(total)} records)`,
      [
        ...loaders.map((l) => ({ label: l.name, count: Math.round(l.rowsPerS) })),
        { label: 'census-etl inserting alone (the ceiling)', count: Math.round(Math.max(...ceiling)) },
      ],
      // No axis title: the loaders' names are the labels.
      { category: '', count: 'rows per second (input records / wall time)' },
    );
    const png = path.join(ROOT, 'out', 'bench-loaders.png');
    await svgToPng(await renderSvg(chart), png).then(
      () => console.log(`\nchart: ${path.relative(ROOT, png)}`),
      (e: Error) => console.log(`\nchart not drawn (Chromium: ${e.message.split('\n')[0]})`),
    );

    // The schedule: --every 1 on Adult.data (20 batches of 1,630): how late each batch starts after
    // its wall-clock second, what it costs, and whether two ever overlapped.
    const ticks = path.join(work, 'ticks');
    mkdirSync(ticks);
    await pipeline(createReadStream(path.join(DATA_DIR, FILES[0].name)), createWriteStream(path.join(ticks, FILES[0].name)));
    writeFileSync(path.join(ticks, FILES[1].name), '|no records\n');
    const sched = await checked(
      measure(process.execPath, [bundle, 'run', '--every', '1', '--data-dir', ticks, '--db', path.join(ticks, 'c.db'), '--log', path.join(ticks, 'log')], { env: { CENSUS_DATA_DIR: '' } }),
      'scheduled run',
    );
    const tick = [...sched.stdout.matchAll(/^(\S+) batch \d+\/\d+: .*\| ([\d.]+) ms \| tick \+(\d+) ms$/gm)].map((m) => {
      const end = Date.parse(m[1]);
      return { start: end - Number(m[2]), end, ms: Number(m[2]), offset: Number(m[3]) };
    });
    const offsets = tick.map((t) => t.offset);
    // The first batch also waits for the parser thread to start and parse its first range.
    const ms = tick.slice(1).map((t) => t.ms);
    const overlaps = tick.filter((t, i) => i > 0 && t.start < tick[i - 1].end).length;
    results.schedule = { ticks: tick.length, offsetP50Ms: pct(offsets, 50), offsetP99Ms: pct(offsets, 99), offsetMaxMs: Math.max(...offsets), firstBatchMs: tick[0].ms, batchP50Ms: pct(ms, 50), batchMaxMs: Math.max(...ms), overlaps };
    console.log('');
    line(`--every 1, ${tick.length} batches of 1,630: tick offset`, `p50 ${pct(offsets, 50)} ms, p99 ${pct(offsets, 99)} ms, max ${Math.max(...offsets)} ms; overlaps: ${overlaps} (target p99 <= 20)`);
    line('  cost of a scheduled batch', `the first ${tick[0].ms} ms (the parser thread starting), then p50 ${pct(ms, 50)} ms, max ${Math.max(...ms)} ms`);
    line('process start to first commit', `${real_.firstBatchMs} ms (target <= 1000)`);
  }
  const json = path.join(ROOT, 'out', ONLY_OURS ? `bench-ours-${SCALE}x.json` : 'bench.json');
  mkdirSync(path.dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to ${path.relative(ROOT, json)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
