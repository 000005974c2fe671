/**
 * Publishing, under the run's own prefix of the results location (see results.ts): a
 * consistent snapshot of the database (SQLite's backup API), the log and summary.json, then
 * run.json "complete", then latest.json. Each object is read back and compared byte for byte.
 * Nothing here writes outside the run's prefix but latest.json, which only a complete run
 * writes, and never back to an older run.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { Log } from '../shared/log.ts';
import { LATEST_COMPLETE, RESULT_NAMES, isRunId, notARunId, type LatestComplete } from './results.ts';
import { withRetry, type RetryPolicy } from '../shared/retry.ts';
import { getObjectBytes, isMissing, putObjectBytes } from '../shared/s3.ts';
import type { DB, RunIdentity } from '../store/store.ts';
import type { RunRecord } from '../run.ts';
import { objectUnder, s3Uri, type S3Location } from '../shared/uri.ts';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A standalone copy of the database as of now, safe to read while the run writes on. */
export async function snapshot(db: DB, target: string): Promise<void> {
  await rm(target, { force: true });
  await db.backup(target);
  const copy = new Database(target);
  copy.pragma('journal_mode = DELETE');
  copy.close();
}

export type Artifact = { name: string; bytes: Buffer; contentType: string };

/** Uploads, reads back, compares; retried as a whole. */
export async function putVerified(
  loc: S3Location,
  artifact: Artifact,
  retry: RetryPolicy,
  log: Log,
): Promise<void> {
  await withRetry(`upload of ${s3Uri(loc)}`, retry, log, async () => {
    const bounded = { timeoutSeconds: retry.timeoutSeconds };
    await putObjectBytes(loc, artifact.bytes, artifact.contentType, bounded);
    const back = await getObjectBytes(loc, bounded);
    if (!back.equals(artifact.bytes)) {
      throw new Error(
        `read back ${back.length} bytes (sha256 ${sha256(back).slice(0, 12)}), ` +
          `sent ${artifact.bytes.length} (sha256 ${sha256(artifact.bytes).slice(0, 12)})`,
      );
    }
  });
}

/** Uploads the artifacts under a prefix URI (s3://bucket/prefix/), in order. */
async function upload(prefixUri: string, artifacts: Artifact[], retry: RetryPolicy, log: Log): Promise<void> {
  for (const a of artifacts) {
    const loc = objectUnder(prefixUri, a.name);
    await putVerified(loc, a, retry, log);
    log(`published ${s3Uri(loc)} (${a.bytes.length} bytes, sha256 ${sha256(a.bytes).slice(0, 12)})`);
  }
}

export async function writeJson(file: string, value: unknown): Promise<Buffer> {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await writeFile(file, bytes);
  return bytes;
}

/** What a latest.json names as its run (undefined if it is not JSON naming one): to be checked. */
function runNamedIn(bytes: Buffer): unknown {
  try {
    return (JSON.parse(bytes.toString('utf8')) as Partial<LatestComplete> | null)?.run;
  } catch {
    return undefined;
  }
}

/**
 * Points latest.json at this run, unless it already names a later one (run ids sort by their
 * start time): publishing an old run again never hides a newer result. Returns whether it did.
 * Only a run id is later: anything else (planted "~/../x" sorts after every id) is replaced.
 */
async function pointLatest(
  results: string,
  run: RunIdentity,
  retry: RetryPolicy,
  log: Log,
): Promise<boolean> {
  const loc = objectUnder(results, LATEST_COMPLETE);
  const current = await withRetry(`read of ${s3Uri(loc)}`, retry, log, () =>
    getObjectBytes(loc, { timeoutSeconds: retry.timeoutSeconds }).catch((e) =>
      isMissing(e) ? null : Promise.reject(e),
    ),
  );
  const named = current ? runNamedIn(current) : undefined;
  if (isRunId(named) && named > run.id) {
    log(`${s3Uri(loc)} names a later run, ${named}: left as it is`);
    return false;
  }
  if (named !== undefined && !isRunId(named)) log(`${notARunId(s3Uri(loc), named)}: replaced`);
  const latest: LatestComplete = { run: run.id, release: run.release, completedAt: new Date().toISOString() };
  await putVerified(
    loc,
    {
      name: LATEST_COMPLETE,
      bytes: Buffer.from(`${JSON.stringify(latest, null, 2)}\n`),
      contentType: 'application/json',
    },
    retry,
    log,
  );
  log(`published ${s3Uri(loc)}: the latest complete run is ${run.id}`);
  return true;
}

/** What publishing did: where, the objects' checksums, and whether latest.json now names this run. */
export type PublishInfo = {
  to: string;
  objects: Record<string, { bytes: number; sha256: string }>;
  latest: boolean;
};

export type PublishInput = {
  database: string;
  logFile: string;
  /** The results location, s3://bucket/prefix/. */
  results: string;
  run: RunIdentity;
  /** Everything summary.json says but the objects' checksums, which are added here. */
  summary: object;
  /** Where the summary is also written locally. */
  summaryFile: string;
  record: RunRecord;
  retry: RetryPolicy;
  log: Log;
};

/** Publishes a complete database; a failure says that nothing needs loading again. */
export async function publishRun(db: DB, o: PublishInput): Promise<PublishInfo> {
  const to = o.record.prefixUri;
  const snapshotFile = `${o.database}.snapshot`;
  try {
    await snapshot(db, snapshotFile);
    const database = {
      name: RESULT_NAMES.database,
      bytes: await readFile(snapshotFile),
      contentType: 'application/vnd.sqlite3',
    };
    const log = {
      name: RESULT_NAMES.log,
      bytes: await readFile(o.logFile),
      contentType: 'text/plain; charset=utf-8',
    };
    const objects = Object.fromEntries(
      [database, log].map((a) => [a.name, { bytes: a.bytes.length, sha256: sha256(a.bytes) }]),
    );
    const summary = {
      name: RESULT_NAMES.summary,
      bytes: await writeJson(o.summaryFile, { ...o.summary, objects }),
      contentType: 'application/json',
    };
    o.log(`publishing to ${to}`);
    await upload(to, [database, log, summary], o.retry, o.log);
    await o.record.complete();
    const latest = await pointLatest(o.results, o.run, o.retry, o.log);
    await rm(snapshotFile, { force: true });
    return { to, objects, latest };
  } catch (e) {
    // The user's next step depends on it: nothing needs loading again.
    throw new Error(
      `${(e as Error).message}; the load is complete in ${o.database}: run again to publish it`,
    );
  }
}
