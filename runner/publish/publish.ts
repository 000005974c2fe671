/**
 * Publishing, under the run's own prefix of the results location (see results.ts): a
 * consistent snapshot of a SQLite database (a PostgreSQL one stays where it is), the log and
 * summary.json, then
 * run.json "complete", then latest.json. Each object is read back and compared byte for byte.
 * Nothing here writes outside the run's prefix but latest.json, which only a complete run
 * writes, and never back to an older run.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../shared/log.ts';
import { redact } from '../shared/redact.ts';
import { LATEST_COMPLETE, RESULT_NAMES, isRunId, notARunId, type LatestComplete } from './results.ts';
import { withRetry, type RetryPolicy } from '../shared/retry.ts';
import { getObjectBytes, isMissing, putObjectBytes } from '../shared/s3.ts';
import type { RunIdentity, Store } from '../store/store.ts';
import type { PublishInfo } from '../steps.ts';
import type { RunRecord } from '../run.ts';
import { objectUnder, s3Uri, type S3Location } from '../shared/uri.ts';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

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

/** Writes JSON that is published: every text in it redacted (a source's signed URL, say). */
export async function writeJson(file: string, value: unknown): Promise<Buffer> {
  const redacted = (_: string, v: unknown) => (typeof v === 'string' ? redact(v) : v);
  const bytes = Buffer.from(`${JSON.stringify(value, redacted, 2)}\n`);
  // Its folder may not exist yet: a PostgreSQL run's own folder, when its log is elsewhere.
  await mkdir(path.dirname(file), { recursive: true });
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

export type PublishInput = {
  /** Where the database's snapshot is written before it is uploaded (SQLite). */
  snapshotFile: string;
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
export async function publishRun(store: Store, o: PublishInput): Promise<PublishInfo> {
  const to = o.record.prefixUri;
  const { snapshotFile } = o;
  try {
    const copied = await store.snapshot(snapshotFile);
    const database = copied && {
      name: RESULT_NAMES.database,
      bytes: await readFile(copied),
      contentType: 'application/vnd.sqlite3',
    };
    const log = {
      name: RESULT_NAMES.log,
      bytes: await readFile(o.logFile),
      contentType: 'text/plain; charset=utf-8',
    };
    const objects = Object.fromEntries(
      [database, log].flatMap((a) =>
        a ? [[a.name, { bytes: a.bytes.length, sha256: sha256(a.bytes) }]] : [],
      ),
    );
    const summary = {
      name: RESULT_NAMES.summary,
      bytes: await writeJson(o.summaryFile, { ...o.summary, objects }),
      contentType: 'application/json',
    };
    o.log(`publishing to ${to}`);
    await upload(to, database ? [database, log, summary] : [log, summary], o.retry, o.log);
    await o.record.complete();
    const latest = await pointLatest(o.results, o.run, o.retry, o.log);
    await rm(snapshotFile, { force: true });
    return { to, objects, latest };
  } catch (e) {
    // The user's next step depends on it: nothing needs loading again.
    throw new Error(
      `${(e as Error).message}; the load is complete in ${store.display}: run again to publish it`,
    );
  }
}
