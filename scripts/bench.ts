/**
 * npm run bench: the loader's speed and footprint, beside the loaders a user would pick instead
 * (the field: the sqlite3 shell's .import, Python csv + executemany, pandas, sqlite-utils) and
 * beside its own two stages measured apart (parsing alone; inserting alone, the ceiling), and
 * into PostgreSQL beside psql \copy, pgloader and psycopg (bench/postgres.ts), all on the same
 * files in the same run, alternating. Never part of npm test.
 *
 *   BENCH_SCALE=100 (copies of the dataset in the large input)   BENCH_REPEAT=2 (rounds; best kept)
 *   BENCH_ONLY=ours (only census-etl on the large input: for RSS at BENCH_SCALE=1000)
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { svgToPng } from '../runner/insights/browser.ts';
import { countChart, renderSvg } from '../runner/insights/charts.ts';
import { FILES } from '../runner/dataset/adult.ts';
import { parserThreads } from '../runner/extract/parsers.ts';
import { DEFAULTS } from '../runner/params.ts';
import { percentile } from '../runner/store/status.ts';
import { buildBundle } from '../infra/bundle.ts';
import { ROOT } from '../infra/layout.ts';
import { DEV_DATA_DIR as DATA_DIR } from './lib/dev-data.ts';
import {
  batchMsOf,
  bestRounds,
  checked,
  field,
  inspect,
  measure,
  skippedOf,
  type Left,
  type LoaderRun,
  type Peer,
  type Proc,
} from './bench/field.ts';
import { postgresField } from './bench/postgres.ts';
import { adultIn, insertOnly, parseOnly, stage } from './bench/stages.ts';
import { textField, writeTextDataset } from './bench/text.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 100);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const ONLY_OURS = process.env.BENCH_ONLY === 'ours';
const work = mkdtempSync(path.join(os.tmpdir(), 'census-bench-'));
// The runner as the instance runs it; inside the project so it finds node_modules' better-sqlite3.
const bundle = buildBundle(path.join(ROOT, 'out', 'bench-bundle')).files.bundle;
const THREADS = parserThreads();
/** The other parser thread count shown beside the default: 1 where the default is more, else 2. */
const OTHER_THREADS = THREADS > 1 ? 1 : 2;

/** The bundled runner on the files in `dir`, in a folder of its own under the work folder. */
function runner(dir: string, name: string, args: string[], threads = THREADS): Promise<Proc> {
  const out = path.join(work, name);
  const files = ['--data-dir', dir, '--db', path.join(out, 'census.db'), '--log', path.join(out, 'log')];
  const env = { CENSUS_DATA_DIR: '', CENSUS_PARSER_THREADS: String(threads) };
  return checked(measure(process.execPath, [bundle, 'run', ...args, ...files], { env }), name);
}
const unthrottled = (dir: string, name: string, threads = THREADS) =>
  runner(dir, name, ['--unthrottled'], threads);

const records = (db: string) => {
  const d = new Database(db, { readonly: true });
  const n = d.prepare('SELECT sum(loaded + quarantined) FROM sources').pluck().get() as number;
  d.close();
  return n;
};
const pct = (xs: number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );
const best = <T>(xs: T[], by: (x: T) => number) => xs.reduce((a, b) => (by(b) > by(a) ? b : a));
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => (a / b).toFixed(2);
/** A figure: its label, then its value given in parts. */
const line = (label: string, ...value: string[]) => console.log(`${label.padEnd(46)} ${value.join('')}`);

async function scaledInput(dir: string) {
  mkdirSync(dir);
  for (const f of FILES) {
    const copies = async function* () {
      for (let i = 0; i < SCALE; i++) yield* createReadStream(path.join(DATA_DIR, f.name));
    };
    await pipeline(copies, createWriteStream(path.join(dir, f.name)));
  }
}

/** A fresh folder for one run; the path of its database. */
function fresh(name: string): string {
  rmSync(path.join(work, name), { recursive: true, force: true });
  mkdirSync(path.join(work, name));
  return path.join(work, name, 'census.db');
}

type Run = { name: string; rowsPerS: number; peakRssMb: number; cpuS: number; mainCpuS: number; left: Left };
type Rounds = {
  runs: Run[];
  batchMs: number[];
  ceiling: { rowsPerS: number; cpuS: number }[];
  parsing: Map<number, number[]>;
};

/** REPEAT rounds on the large input: census-etl, then the field, then the stages apart. */
async function rounds(big: string, total: number, peers: Peer[], parseThreads: number[]): Promise<Rounds> {
  const staged = ONLY_OURS ? [] : await stage(big, path.join(work, 'staged'));
  const adult = await adultIn(big);
  const r: Rounds = { runs: [], batchMs: [], ceiling: [], parsing: new Map() };
  const run = (name: string, p: Proc, db: string): Run => {
    const { peakRssMb, cpuS, mainCpuS } = p;
    return { name, rowsPerS: (total / p.ms) * 1000, peakRssMb, cpuS, mainCpuS, left: inspect(db) };
  };
  for (let round = 1; round <= REPEAT; round++) {
    console.error(`round ${round}/${REPEAT}: census-etl${ONLY_OURS ? '' : ', the field, the stages apart'}`);
    for (const threads of ONLY_OURS ? [THREADS] : [THREADS, OTHER_THREADS]) {
      const name = `census-etl, ${threads} parser thread${threads > 1 ? 's' : ''}`;
      const db = fresh('ours');
      const p = await unthrottled(big, 'ours', threads);
      const accounted = records(db);
      if (accounted !== total) throw new Error(`${name} accounted for ${accounted} records, not ${total}`);
      r.runs.push(run(name, p, db));
      if (threads === THREADS) r.batchMs.push(...batchMsOf(p.stdout));
    }
    for (const peer of peers.filter((p) => !p.skipped)) {
      const db = fresh('peer');
      r.runs.push(run(peer.name, await peer.run(big, db), db));
    }
    if (ONLY_OURS) continue;
    const alone = await insertOnly(adult, staged, fresh('ceiling'), DEFAULTS.batchSize);
    r.ceiling.push({ rowsPerS: alone.recordsPerS, cpuS: alone.cpuS });
    for (const n of parseThreads) {
      r.parsing.set(n, [...(r.parsing.get(n) ?? []), (await parseOnly(adult, staged, n)).linesPerS]);
    }
  }
  return r;
}

/** A Markdown table of loaders and what each stored, the skipped ones with why. */
function printLoaders(o: { loaders: LoaderRun[]; skipped: { name: string; why: string }[] }) {
  const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
  row(['loader', 'rows/s', 'CPU s', 'peak RSS', 'rows stored']);
  row(['---', ...Array(4).fill('---:')]);
  for (const l of o.loaders)
    row([l.name, int(l.rowsPerS), l.cpuS.toFixed(1), `${l.peakRssMb} MB`, int(l.rows)]);
  for (const x of o.skipped) row([x.name, x.why, '', '', '']);
}

/**
 * census-etl (the first loader) against the engine's own bulk path (the loader whose name starts
 * with `reference`) and the fastest Python loader, and its peak RSS, each with its target.
 */
function printTargets(loaders: readonly LoaderRun[], reference: string, ours: string) {
  const [us, ...others] = loaders;
  const engine = others.find((l) => l.name.startsWith(reference));
  const pythons = others.filter((l) => l.python);
  console.log('');
  if (engine) line(`${ours} / ${engine.name}`, `${ratio(us.rowsPerS, engine.rowsPerS)} (target >= 0.8)`);
  if (pythons.length) {
    const fastest = best(pythons, (l) => l.rowsPerS);
    line(`${ours} / ${fastest.name}`, `${ratio(us.rowsPerS, fastest.rowsPerS)} (target >= 1.5)`);
  }
  line(`${ours}, peak RSS`, `${us.peakRssMb} MB (target <= 150)`);
}

const TEXT_ROWS = Number(process.env.BENCH_TEXT_ROWS ?? 1_000_000);

/** The text-heavy dataset: census-etl (--dataset), then the field, REPEAT rounds; the best of each. */
async function textDataset() {
  const dir = path.join(work, 'text');
  mkdirSync(dir);
  const descriptor = await writeTextDataset(dir, TEXT_ROWS);
  const peers = textField();
  const count = (db: string) => {
    const d = new Database(db, { readonly: true });
    const n = d.prepare('SELECT count(*) FROM orders').pluck().get() as number;
    d.close();
    return n;
  };
  const runs: LoaderRun[] = [];
  const add = (name: string, python: boolean, p: Proc, db: string) =>
    runs.push({
      name,
      python,
      rowsPerS: (TEXT_ROWS / p.ms) * 1000,
      peakRssMb: p.peakRssMb,
      cpuS: p.cpuS,
      rows: count(db),
    });
  for (let round = 1; round <= REPEAT; round++) {
    console.error(`round ${round}/${REPEAT}: the text-heavy dataset`);
    const ours = fresh('text-ours');
    const args = [
      bundle,
      'run',
      '--unthrottled',
      '--dataset',
      descriptor,
      '--db',
      ours,
      '--log',
      `${ours}.log`,
    ];
    add(
      'census-etl',
      false,
      await checked(measure(process.execPath, args, { env: { CENSUS_DATA_DIR: '' } }), 'census-etl'),
      ours,
    );
    for (const peer of peers.filter((p) => !p.skipped)) {
      const db = fresh('text-peer');
      add(peer.name, peer.python, await peer.run(dir, db), db);
    }
  }
  return { records: TEXT_ROWS, loaders: bestRounds(runs), skipped: skippedOf(peers) };
}

/** 20 batches of 1,630 at --every 1: how late each starts after its second, and what it costs. */
async function schedule() {
  const ticks = path.join(work, 'ticks');
  mkdirSync(ticks);
  const data = path.join(ticks, FILES[0].name);
  await pipeline(createReadStream(path.join(DATA_DIR, FILES[0].name)), createWriteStream(data));
  writeFileSync(path.join(ticks, FILES[1].name), '|no records\n');
  const run = await runner(ticks, 'scheduled', ['--every', '1']);
  const logged = /^(\S+) batch \d+\/\d+: .*\| ([\d.]+) ms \| tick \+(\d+) ms$/gm;
  const tick = [...run.stdout.matchAll(logged)].map((m) => {
    const end = Date.parse(m[1]);
    return { start: end - Number(m[2]), end, ms: Number(m[2]), offset: Number(m[3]) };
  });
  const offsets = tick.map((t) => t.offset);
  // The first batch also waits for the parser thread to start and parse its first range.
  const ms = tick.slice(1).map((t) => t.ms);
  return {
    ticks: tick.length,
    offsetP50Ms: pct(offsets, 50),
    offsetP99Ms: pct(offsets, 99),
    offsetMaxMs: Math.max(...offsets),
    firstBatchMs: tick[0].ms,
    batchP50Ms: pct(ms, 50),
    batchMaxMs: Math.max(...ms),
    overlaps: tick.filter((t, i) => i > 0 && t.start < tick[i - 1].end).length,
  };
}

const machine = [
  `${os.availableParallelism()} cores, ${os.cpus()[0]?.model.trim() ?? '?'}`,
  `${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}`,
].join(', ');
const results: Record<string, unknown> = { date: new Date().toISOString(), machine, scale: SCALE };

try {
  // The real dataset, unthrottled: its record count scales the large input; time to first commit.
  const real = await unthrottled(DATA_DIR, 'real');
  const perCopy = records(path.join(work, 'real', 'census.db'));
  const firstBatchMs = Date.parse(/^(\S+) batch 1\//m.exec(real.stdout)![1]) - real.startedAt;
  results.real = { records: perCopy, seconds: real.ms / 1000, firstBatchMs };

  const big = path.join(work, 'big');
  await scaledInput(big);
  const total = perCopy * SCALE;
  const peers = ONLY_OURS ? [] : field(SCALE);
  const parseThreads = [...new Set([1, Math.min(os.availableParallelism(), Math.max(2, THREADS))])];
  const r = await rounds(big, total, peers, parseThreads);

  const loaders = bestRounds(r.runs).map((l) => ({
    ...l,
    python: peers.find((p) => p.name === l.name)?.python ?? false,
  }));
  const ours = loaders[0];
  const skipped = skippedOf(peers);
  results.large = { records: total, repeat: REPEAT, parserThreads: THREADS, loaders, skipped };
  results.batch = { batches: r.batchMs.length, p50Ms: pct(r.batchMs, 50), p99Ms: pct(r.batchMs, 99) };

  console.log(`\ncensus-etl bench, ${results.date}, ${machine}\n`);
  line(
    'real dataset, unthrottled',
    `${int(perCopy)} records in ${(real.ms / 1000).toFixed(2)} s`,
    ' (process start to exit)',
  );
  line(
    `${SCALE}x input (${int(total)} records): census-etl`,
    `${int(ours.rowsPerS)} rows/s, peak RSS ${ours.peakRssMb} MB (target <= 150)`,
  );
  const [p50, p99] = [pct(r.batchMs, 50), pct(r.batchMs, 99)];
  line(
    'per 1,630-record batch, unthrottled',
    `p50 ${p50} ms, p99 ${p99} ms`,
    ` over ${r.batchMs.length} batches (target p99 <= 10)`,
  );

  if (!ONLY_OURS) {
    const ceiling = best(r.ceiling, (c) => c.rowsPerS);
    const ceilingCpuS = Math.min(...r.ceiling.map((c) => c.cpuS));
    const shell = loaders.find((l) => l.name.startsWith('sqlite3'));
    const python = loaders.filter((l) => l.python);
    const fastestPython = python.length ? best(python, (l) => l.rowsPerS) : undefined;
    const bounds = [
      { by: 'the insert-only ceiling (0.95 x)', rowsPerS: 0.95 * ceiling.rowsPerS },
      ...(shell ? [{ by: "the sqlite3 shell's .import (0.8 x)", rowsPerS: 0.8 * shell.rowsPerS }] : []),
    ];
    const bound = bounds.reduce((a, b) => (b.rowsPerS < a.rowsPerS ? b : a));
    const met = ours.rowsPerS >= bound.rowsPerS;
    const parse = Object.fromEntries([...r.parsing].map(([n, xs]) => [n, Math.max(...xs)]));
    results.stages = { insertOnly: ceiling, insertOnlyBestCpuS: ceilingCpuS, parseOnlyLinesPerS: parse };
    const vsFastestPython = fastestPython && ours.rowsPerS / fastestPython.rowsPerS;
    results.targets = { bound, met, fastestPython: fastestPython?.name, vsFastestPython };

    const perMillion = (cpuS: number) => `${((cpuS / total) * 1e6).toFixed(2)} s`;
    line(
      'inserting alone (ceiling: parsing done before)',
      `${int(ceiling.rowsPerS)} rows/s; census-etl / ceiling = ${ratio(ours.rowsPerS, ceiling.rowsPerS)}`,
    );
    // CPU time moves less than wall time when other work shares the machine.
    line(
      '  CPU of the inserting thread, per million rows',
      `census-etl ${perMillion(ours.mainCpuS)} (whole run: start, staging, load), `,
      `inserting alone ${perMillion(ceilingCpuS)}`,
    );
    if (shell) {
      const vsShell = ratio(ours.rowsPerS, shell.rowsPerS);
      line("sqlite3 shell's .import", `${int(shell.rowsPerS)} rows/s; census-etl / shell = ${vsShell}`);
    }
    line(
      'target: the lower of the two bounds',
      `${int(bound.rowsPerS)} rows/s, set by ${bound.by}: `,
      met ? 'met' : 'NOT met',
    );
    if (fastestPython) {
      const vs = vsFastestPython!.toFixed(2);
      line(`fastest Python loader: ${fastestPython.name}`, `census-etl / it = ${vs} (target >= 1.5)`);
    }
    const byThreads = parseThreads.map((n) => `${n}: ${int(parse[n])}`).join(', ');
    line('parsing alone, lines/s by parser threads', `${byThreads} (census-etl runs ${THREADS} here)`);

    const rate = 'rows/s = input records / wall time, process start to exit';
    console.log(`\nThe field, ${SCALE}x input, best of ${REPEAT} (${rate}):\n`);
    const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
    const table = [
      row(
        ['loader', 'rows/s', 'CPU s', 'peak RSS', 'rows stored', 'class one of the two values'].concat([
          'integers stored as text',
          'rows from blank/comment lines',
        ]),
      ),
      row(['---', ...Array(7).fill('---:')]),
      ...loaders.map((l) => {
        const { rows, cleanClass, integersAsText, junkRows } = l.left;
        const speed = [int(l.rowsPerS), l.cpuS.toFixed(1), `${l.peakRssMb} MB`];
        return row([l.name, ...speed, ...[rows, cleanClass, integersAsText, junkRows].map(int)]);
      }),
      ...skipped.map((s) => row([s.name, s.why!, ...Array(6).fill('')])),
    ].join('\n');
    console.log(table);
    results.fieldTable = table;

    const chart = countChart(
      `Rows per second loading the Adult dataset ${SCALE} times (${int(total)} records)`,
      [
        ...loaders.map((l) => ({ label: l.name, count: Math.round(l.rowsPerS) })),
        { label: 'census-etl inserting alone (the ceiling)', count: Math.round(ceiling.rowsPerS) },
      ],
      // No axis title: the loaders' names are the labels.
      { category: '', count: 'rows per second (input records / wall time)' },
    );
    const png = path.join(ROOT, 'out', 'bench-loaders.png');
    await svgToPng(await renderSvg(chart), png).then(
      () => console.log(`\nchart: ${path.relative(ROOT, png)}`),
      (e: Error) => console.log(`\nchart not drawn (Chromium: ${e.message.split('\n')[0]})`),
    );

    const text = await textDataset();
    results.text = text;
    const what = `${int(TEXT_ROWS)} records: quoted text, decimals, dates`;
    console.log(`\nA text-heavy dataset (${what}), best of ${REPEAT}:\n`);
    printLoaders(text);
    printTargets(text.loaders, 'sqlite3', 'census-etl');

    const pg = await postgresField(big, total, bundle, work, REPEAT);
    results.postgres = pg;
    console.log(`\nPostgreSQL, ${SCALE}x input, one throwaway cluster on loopback, best of ${REPEAT}:\n`);
    if ('loaders' in pg) {
      printLoaders(pg);
      printTargets(pg.loaders, 'psql', 'census-etl into PostgreSQL');
      line(
        'per 1,630-record batch into PostgreSQL',
        `p50 ${pct(pg.batchMs, 50)} ms, p99 ${pct(pg.batchMs, 99)} ms (target p99 <= 50)`,
      );
    } else {
      console.log(`skipped: PostgreSQL ${pg.skipped}`);
    }

    const s = await schedule();
    results.schedule = s;
    console.log('');
    line(
      `--every 1, ${s.ticks} batches of 1,630: tick offset`,
      `p50 ${s.offsetP50Ms} ms, p99 ${s.offsetP99Ms} ms, max ${s.offsetMaxMs} ms; `,
      `overlaps: ${s.overlaps} (target p99 <= 20)`,
    );
    line(
      '  cost of a scheduled batch',
      `the first ${s.firstBatchMs} ms (the parser thread starting), `,
      `then p50 ${s.batchP50Ms} ms, max ${s.batchMaxMs} ms`,
    );
    line('process start to first commit', `${firstBatchMs} ms (target <= 1000)`);
  }
  const json = path.join(ROOT, 'out', ONLY_OURS ? `bench-ours-${SCALE}x.json` : 'bench.json');
  mkdirSync(path.dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to ${path.relative(ROOT, json)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
