/**
 * npm run sync: downloads the latest complete run (latest.json names it), or `--run ID`, into
 * results/<run>/: census.db and census-etl.log checked against the checksums summary.json
 * lists, summary.json, and the report. It says plainly how the newest run went when that is not
 * the one downloaded: failed (its log saved), stopped, still going (how far), or silent for
 * too long. `--list`: every run, with its state, progress and why.
 *
 * Where from: the results_uri output of the stack (Terraform state, see CENSUS_STATE_FILE), in
 * the stack's region, or CENSUS_RESULTS_URI=s3://bucket/prefix/. Where to: --out DIR (default results).
 * Exit 0 when the newest run is the one downloaded (or is still going); 1 otherwise, and when
 * anything read from S3 was refused; 2 for a --run that is not a run id.
 *
 * What S3 holds is data: run ids are used only if they are ones (runs.ts), every file is
 * written inside --out (`inside`), and everything printed has its control characters made
 * visible (`printable`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readOutputs } from './outputs.ts';
import { ResultsLocation, describeRun, isStale, type Report } from './runs.ts';
import { sha256 } from '../../runner/publish/publish.ts';
import { writeReport } from '../../runner/insights/report.ts';
import { RESULT_NAMES, isRunId, notARunId, shown, type RunDocument } from '../../runner/publish/results.ts';
import { printable } from '../../runner/shared/redact.ts';
import { openStore } from '../../runner/store/store.ts';

export class SyncError extends Error {}

type Summary = {
  run?: unknown;
  objects?: Record<string, { bytes: number; sha256: string }>;
  database?: { kind?: unknown; at?: unknown };
};

/**
 * The path of out/...parts, refused unless it is inside `out` once resolved: the parts come
 * from S3. Every file sync writes, and the report's folder, go through it.
 */
export function inside(out: string, ...parts: string[]): string {
  const root = path.resolve(out);
  const relative = path.relative(root, path.resolve(root, ...parts));
  if (
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  )
    throw new SyncError(`${shown(parts.join('/'))} is not a path inside ${out}: refused`);
  return path.join(out, ...parts);
}

/** Writes out/...parts (inside `out`), making its folder; returns its path. */
async function save(out: string, parts: string[], bytes: Buffer): Promise<string> {
  const file = inside(out, ...parts);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return file;
}

/** Downloads a complete run into out/<run>/, every file checked; returns the files written. */
async function download(at: ResultsLocation, run: string, out: string): Promise<string[]> {
  const where = `${at.uri}${run}/`;
  const get = async (name: string) => {
    const bytes = await at.object(run, name);
    if (!bytes) throw new SyncError(`${where}${name} is missing`);
    return bytes;
  };
  const summaryBytes = await get(RESULT_NAMES.summary);
  const summary = JSON.parse(summaryBytes.toString('utf8')) as Summary;
  if (summary.run !== run)
    throw new SyncError(`${where}${RESULT_NAMES.summary} is run ${shown(summary.run)}'s, not ${run}'s`);
  const written: string[] = [];
  // A PostgreSQL run publishes no database file: its data stays in the database, which sync names.
  const elsewhere = summary.database?.kind === 'postgres' ? printable(String(summary.database.at)) : null;
  const names = elsewhere ? [RESULT_NAMES.log] : [RESULT_NAMES.database, RESULT_NAMES.log];
  for (const name of names) {
    const expected = summary.objects?.[name];
    if (!expected) throw new SyncError(`${RESULT_NAMES.summary} lists no checksum for ${name}`);
    const bytes = await get(name);
    if (sha256(bytes) !== expected.sha256) {
      throw new SyncError(
        `${where}${name}: sha256 ${sha256(bytes)} is not the ${expected.sha256} ` +
          `that ${RESULT_NAMES.summary} lists`,
      );
    }
    written.push(await save(out, [run, name], bytes));
  }
  const summaryFile = await save(out, [run, RESULT_NAMES.summary], summaryBytes);
  if (elsewhere) return [...written, summaryFile, `the data is in ${elsewhere} (PostgreSQL)`];
  const dir = inside(out, run);
  const store = await openStore(path.join(dir, RESULT_NAMES.database), { dataset: null, readOnly: true });
  const report = await writeReport({ store, out: dir }).finally(() => store.close());
  return [...written, summaryFile, ...Object.values(report)];
}

/** A run that did not complete: what it says, and its log saved next to where results go. */
async function notComplete(
  at: ResultsLocation,
  run: string,
  doc: RunDocument | null,
  out: string,
): Promise<string> {
  const said = describeRun(run, doc);
  const log = await at.object(run, RESULT_NAMES.log);
  if (!log || doc?.state === 'running') return said;
  return `${said}\nits log: ${await save(out, [run, RESULT_NAMES.log], log)}`;
}

export type SyncOutcome = { lines: string[]; ok: boolean };

export async function sync(uri: string, out: string, report: Report, run?: string): Promise<SyncOutcome> {
  const at = new ResultsLocation(uri, report);
  const lines: string[] = [];
  if (run) {
    const doc = await at.runDocument(run);
    if (doc?.state !== 'complete') return { lines: [await notComplete(at, run, doc, out)], ok: false };
    return {
      lines: [`run ${run} (release ${doc.release}):`, ...(await download(at, run, out))],
      ok: true,
    };
  }
  const [runs, latest] = await Promise.all([at.runs(), at.latest()]);
  const newest = runs.at(-1);
  if (!newest)
    throw new SyncError(`no run at ${uri} yet: the instance has not started one (npm run logs waits for it)`);
  let ok = true;
  if (newest !== latest?.run) {
    const doc = await at.runDocument(newest);
    ok = doc?.state === 'running' && !isStale(doc);
    lines.push(`newest ${await notComplete(at, newest, doc, out)}`);
  }
  if (!latest) return { lines: [...lines, `no run at ${uri} has completed yet`], ok: false };
  lines.push(
    `latest complete run ${latest.run} (release ${latest.release}, completed ${latest.completedAt}):`,
  );
  lines.push(...(await download(at, latest.run, out)));
  return { lines, ok };
}

/** Every run: id, release, state, progress, when last updated, why; the latest complete one marked. */
export async function list(uri: string, report: Report): Promise<string[]> {
  const at = new ResultsLocation(uri, report);
  const [runs, latest] = await Promise.all([at.runs(), at.latest()]);
  // Read at once, reported in the runs' order: each run's problems kept apart until then.
  const said: string[][] = runs.map(() => []);
  const rows = await Promise.all(
    runs.map(async (run, i) => {
      const doc = await new ResultsLocation(uri, (line) => said[i].push(line)).runDocument(run);
      const mark = run === latest?.run ? '*' : ' ';
      const state = doc ? (isStale(doc) ? 'running?' : doc.state) : 'unknown';
      const progress = doc?.progress ? `${doc.progress.percent}%` : '-';
      const updated = doc?.updatedAt ?? '-';
      const columns = [`${mark} ${run}`, state.padEnd(8), progress.padStart(6), updated, doc?.why ?? ''];
      return columns.join('  ').trimEnd();
    }),
  );
  for (const line of said.flat()) report(line);
  return [`runs at ${uri} (* latest complete):`, ...rows];
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string', default: 'results' },
      run: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
  const say = (line: string) => process.stderr.write(`sync: ${printable(line)}\n`);
  const print = (lines: string[]) => lines.forEach((line) => process.stdout.write(`${printable(line)}\n`));
  if (values.run !== undefined && !isRunId(values.run)) {
    say(notARunId('--run', values.run));
    return 2;
  }
  let refused = false;
  const report = (problem: string) => {
    refused = true;
    say(problem);
  };
  try {
    const uri = process.env.CENSUS_RESULTS_URI || stackResults();
    if (values.list) {
      print(await list(uri, report));
      return refused ? 1 : 0;
    }
    const { lines, ok } = await sync(uri, values.out!, report, values.run);
    print(lines);
    return ok && !refused ? 0 : 1;
  } catch (e) {
    say((e as Error).message);
    return 1;
  }
}

/** The deployed stack's results location; S3 calls then go to the stack's region, whatever the shell says. */
function stackResults(): string {
  const outputs = readOutputs();
  process.env.AWS_REGION = outputs.region;
  return outputs.results_uri;
}
