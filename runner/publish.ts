/**
 * Publishing: a consistent snapshot of the database (SQLite's backup API), the log and
 * summary.json, uploaded to the results location, each read back and compared byte for
 * byte. summary.json goes last and lists the others' checksums: it marks a complete result.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { Log } from './log.ts';
import { withRetry, type RetryPolicy } from './retry.ts';
import { getObjectBytes, putObjectBytes } from './s3.ts';
import { objectUnder, s3Uri, type S3Location } from './uri.ts';
import type { DB } from './store.ts';

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

async function putVerified(loc: S3Location, artifact: Artifact, retry: RetryPolicy, log: Log): Promise<void> {
  await withRetry(`upload of ${s3Uri(loc)}`, retry, log, async () => {
    await putObjectBytes(loc, artifact.bytes, artifact.contentType);
    const back = await getObjectBytes(loc);
    if (!back.equals(artifact.bytes)) {
      throw new Error(`read back ${back.length} bytes (sha256 ${sha256(back).slice(0, 12)}), sent ${artifact.bytes.length} (sha256 ${sha256(artifact.bytes).slice(0, 12)})`);
    }
  });
}

/** Uploads the artifacts under `results` (s3://bucket/prefix/), the summary last. */
export async function upload(results: string, artifacts: Artifact[], retry: RetryPolicy, log: Log): Promise<void> {
  for (const a of artifacts) {
    const loc = objectUnder(results, a.name);
    await putVerified(loc, a, retry, log);
    log(`published ${s3Uri(loc)} (${a.bytes.length} bytes, sha256 ${sha256(a.bytes).slice(0, 12)})`);
  }
}

/** Reads a file into an artifact; the summary records its checksum. */
export async function artifactFrom(file: string, name: string, contentType: string): Promise<Artifact> {
  return { name, bytes: await readFile(file), contentType };
}

export async function writeJson(file: string, value: unknown): Promise<Buffer> {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await writeFile(file, bytes);
  return bytes;
}
