/**
 * npm run sync: downloads the deployed stack's results (census.db, census-etl.log,
 * summary.json) into results/, checks the first two against the checksums summary.json
 * lists, then writes the report next to them.
 *
 * Where from: the results_uri output of the stack (Terraform state, see CENSUS_STATE_FILE), in
 * the stack's region, or CENSUS_RESULTS_URI=s3://bucket/prefix/. Where to: --out DIR (default results).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { readOutputs } from '../infra/outputs.ts';
import { sha256 } from '../runner/publish.ts';
import { RESULT_NAMES } from '../runner/results.ts';
import { writeReport } from '../runner/report.ts';
import { getObjectBytes } from '../runner/s3.ts';
import { objectUnder } from '../runner/uri.ts';

export class SyncError extends Error {}

type Summary = { objects?: Record<string, { bytes: number; sha256: string }> };

const isMissing = (e: unknown) => ['NoSuchKey', 'NotFound'].includes((e as Error).name);

export async function sync(resultsUri: string, outDir: string): Promise<string[]> {
  const get = (name: string) => getObjectBytes(objectUnder(resultsUri, name));
  await mkdir(outDir, { recursive: true });

  let summaryBytes: Buffer;
  try {
    summaryBytes = await get(RESULT_NAMES.summary);
  } catch (e) {
    if (!isMissing(e)) throw e;
    // No summary: the run is still going, or it failed. A failed run leaves its log.
    const log = await get(RESULT_NAMES.log).catch((err) => (isMissing(err) ? null : Promise.reject(err)));
    if (!log) throw new SyncError(`no results at ${resultsUri} yet: the run is still going (see npm run logs)`);
    const file = path.join(outDir, RESULT_NAMES.log);
    await writeFile(file, log);
    throw new SyncError(`the run did not publish a database (no ${RESULT_NAMES.summary} at ${resultsUri}); its log is in ${file}`);
  }

  const summary = JSON.parse(summaryBytes.toString('utf8')) as Summary;
  const written: string[] = [];
  for (const name of [RESULT_NAMES.database, RESULT_NAMES.log]) {
    const expected = summary.objects?.[name];
    if (!expected) throw new SyncError(`${RESULT_NAMES.summary} lists no checksum for ${name}`);
    const bytes = await get(name);
    if (sha256(bytes) !== expected.sha256) {
      throw new SyncError(`${resultsUri}${name}: sha256 ${sha256(bytes)} is not the ${expected.sha256} that ${RESULT_NAMES.summary} lists`);
    }
    const file = path.join(outDir, name);
    await writeFile(file, bytes);
    written.push(file);
  }
  const summaryFile = path.join(outDir, RESULT_NAMES.summary);
  await writeFile(summaryFile, summaryBytes);
  const report = await writeReport({ db: path.join(outDir, RESULT_NAMES.database), out: outDir });
  return [...written, summaryFile, ...Object.values(report)];
}

/** The deployed stack's results location; S3 calls then go to the stack's region, whatever the shell says. */
function stackResults(): string {
  const outputs = readOutputs();
  process.env.AWS_REGION = outputs.region;
  return outputs.results_uri;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'results' } } });
  try {
    const resultsUri = process.env.CENSUS_RESULTS_URI || stackResults();
    for (const file of await sync(resultsUri, values.out!)) process.stdout.write(`${file}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`sync: ${(e as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
