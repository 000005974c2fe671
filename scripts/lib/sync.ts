/**
 * npm run sync: downloads the latest complete run (latest.json names it), or `--run ID`, into
 * results/<run>/: census.db and census-etl.log checked against the checksums summary.json
 * lists, summary.json, and the report. It says plainly how the newest run went when that is not
 * the one downloaded: failed (its log saved), stopped, still going (how far), or silent for
 * too long. `--list`: every run, with its state, progress and why.
 *
 * Where from: the results_uri output of the stack (Terraform state, see CENSUS_STATE_FILE), in
 * the stack's region, or CENSUS_RESULTS_URI=s3://bucket/prefix/. Where to: --out DIR (default results).
 * Exit 0 when the newest run is the one downloaded (or is still going); 1 otherwise.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readOutputs } from './outputs.ts';
import { ResultsLocation, describeRun, isStale } from './runs.ts';
import { sha256 } from '../../runner/publish/publish.ts';
import { writeReport } from '../../runner/insights/report.ts';
import { RESULT_NAMES, type RunDocument } from '../../runner/publish/results.ts';

export class SyncError extends Error {}

type Summary = { run?: string; objects?: Record<string, { bytes: number; sha256: string }> };

/** Downloads a complete run into `dir`, every file checked; returns the files written. */
async function download(at: ResultsLocation, run: string, dir: string): Promise<string[]> {
  const where = `${at.uri}${run}/`;
  const get = async (name: string) => {
    const bytes = await at.object(run, name);
    if (!bytes) throw new SyncError(`${where}${name} is missing`);
    return bytes;
  };
  const summaryBytes = await get(RESULT_NAMES.summary);
  const summary = JSON.parse(summaryBytes.toString('utf8')) as Summary;
  if (summary.run !== run)
    throw new SyncError(`${where}${RESULT_NAMES.summary} is run ${summary.run}'s, not ${run}'s`);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const name of [RESULT_NAMES.database, RESULT_NAMES.log]) {
    const expected = summary.objects?.[name];
    if (!expected) throw new SyncError(`${RESULT_NAMES.summary} lists no checksum for ${name}`);
    const bytes = await get(name);
    if (sha256(bytes) !== expected.sha256) {
      throw new SyncError(
        `${where}${name}: sha256 ${sha256(bytes)} is not the ${expected.sha256} ` +
          `that ${RESULT_NAMES.summary} lists`,
      );
    }
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    written.push(file);
  }
  const summaryFile = path.join(dir, RESULT_NAMES.summary);
  await writeFile(summaryFile, summaryBytes);
  const report = await writeReport({ db: path.join(dir, RESULT_NAMES.database), out: dir });
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
  const file = path.join(out, run, RESULT_NAMES.log);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, log);
  return `${said}\nits log: ${file}`;
}

export type SyncOutcome = { lines: string[]; ok: boolean };

export async function sync(uri: string, out: string, run?: string): Promise<SyncOutcome> {
  const at = new ResultsLocation(uri);
  const lines: string[] = [];
  if (run) {
    const doc = await at.runDocument(run);
    if (doc?.state !== 'complete') return { lines: [await notComplete(at, run, doc, out)], ok: false };
    return {
      lines: [`run ${run} (release ${doc.release}):`, ...(await download(at, run, path.join(out, run)))],
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
  lines.push(...(await download(at, latest.run, path.join(out, latest.run))));
  return { lines, ok };
}

/** Every run: id, release, state, progress, when last updated, why; the latest complete one marked. */
export async function list(uri: string): Promise<string[]> {
  const at = new ResultsLocation(uri);
  const [runs, latest] = await Promise.all([at.runs(), at.latest()]);
  const rows = await Promise.all(
    runs.map(async (run) => {
      const doc = await at.runDocument(run);
      const mark = run === latest?.run ? '*' : ' ';
      const state = doc ? (isStale(doc) ? 'running?' : doc.state) : 'unknown';
      const progress = doc?.progress ? `${doc.progress.percent}%` : '-';
      const updated = doc?.updatedAt ?? '-';
      const columns = [`${mark} ${run}`, state.padEnd(8), progress.padStart(6), updated, doc?.why ?? ''];
      return columns.join('  ').trimEnd();
    }),
  );
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
  try {
    const uri = process.env.CENSUS_RESULTS_URI || stackResults();
    if (values.list) {
      for (const line of await list(uri)) process.stdout.write(`${line}\n`);
      return 0;
    }
    const { lines, ok } = await sync(uri, values.out!, values.run);
    for (const line of lines) process.stdout.write(`${line}\n`);
    return ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`sync: ${(e as Error).message}\n`);
    return 1;
  }
}

/** The deployed stack's results location; S3 calls then go to the stack's region, whatever the shell says. */
function stackResults(): string {
  const outputs = readOutputs();
  process.env.AWS_REGION = outputs.region;
  return outputs.results_uri;
}
