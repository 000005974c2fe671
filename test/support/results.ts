/** What a results location holds (results.ts's layout), read straight from moto. */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { sha256 } from '../../runner/publish/publish.ts';
import {
  LATEST_COMPLETE,
  RESULT_NAMES,
  type LatestComplete,
  type RunDocument,
} from '../../runner/publish/results.ts';
import type { Bucket } from './s3.ts';

/** The run id and release a database holds. */
export function runOf(db: string): { id: string; release: string } {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT run_id AS id, release FROM run').get() as { id: string; release: string };
  } finally {
    d.close();
  }
}

export const readJson = async <T>(bucket: Bucket, key: string): Promise<T> =>
  JSON.parse((await bucket.get(key)).toString('utf8')) as T;

export const runJson = (bucket: Bucket, prefix: string, run: string) =>
  readJson<RunDocument>(bucket, `${prefix}${run}/${RESULT_NAMES.run}`);
export const latestJson = (bucket: Bucket, prefix: string) =>
  readJson<LatestComplete>(bucket, `${prefix}${LATEST_COMPLETE}`);

/** The objects of a complete run under `prefix`: each there, summary.json vouching for the others. */
export async function assertCompleteRun(
  bucket: Bucket,
  prefix: string,
  run: { id: string; release: string },
): Promise<void> {
  const at = `${prefix}${run.id}/`;
  assert.deepEqual(
    await bucket.keys(at),
    [RESULT_NAMES.log, RESULT_NAMES.database, RESULT_NAMES.run, RESULT_NAMES.summary].map((n) => at + n),
  );
  const summary = await readJson<{
    run: string;
    release: string;
    complete: boolean;
    objects: Record<string, unknown>;
  }>(bucket, at + RESULT_NAMES.summary);
  assert.equal(summary.run, run.id);
  assert.equal(summary.release, run.release);
  assert.equal(summary.complete, true);
  for (const name of [RESULT_NAMES.database, RESULT_NAMES.log]) {
    const bytes = await bucket.get(at + name);
    assert.deepEqual(summary.objects[name], { bytes: bytes.length, sha256: sha256(bytes) }, name);
  }
  const doc = await runJson(bucket, prefix, run.id);
  assert.deepEqual([doc.run, doc.release, doc.state, doc.why], [run.id, run.release, 'complete', null]);
  assert.equal(doc.progress?.percent, 100);
}
