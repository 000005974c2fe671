/**
 * The runs under a results location (runner/publish/results.ts's layout), as the user's machine reads
 * them for `npm run sync` and `npm run logs`: the run ids, each run's run.json, latest.json,
 * and a log read from an offset on (a ranged GET). Every request has a timeout.
 *
 * What S3 returns is data: whoever can write the prefix (the instance's role) can plant
 * anything there. A run id is used only if it is one; a document that is not what its key says
 * is reported and treated as absent.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  LATEST_COMPLETE,
  PROGRESS_EVERY_SECONDS,
  RESULT_NAMES,
  RUN_STATES,
  isRunId,
  notARunId,
  shown,
  type LatestComplete,
  type RunDocument,
} from '../../runner/publish/results.ts';
import { isMissing, plainTimeout, s3Client } from '../../runner/shared/s3.ts';
import { asPrefix, parseS3Uri } from '../../runner/shared/uri.ts';

/** A run whose run.json says running but has not been updated for this long may be dead. */
export const STALE_AFTER_SECONDS = 3 * PROGRESS_EVERY_SECONDS;

const TIMEOUT_SECONDS = 15;

/** When a run started, from its id (YYYYMMDDTHHMMSSZ-release). */
export function startOf(run: string): Date {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-/.exec(run);
  if (!m) throw new Error(`not a run id: ${run}`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

const ago = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
};

export const isStale = (doc: RunDocument, now = new Date()) =>
  doc.state === 'running' && now.getTime() - Date.parse(doc.updatedAt) > STALE_AFTER_SECONDS * 1000;

/** A run's state as a sentence: complete; failed or stopped, and why; running, how far along. */
export function describeRun(run: string, doc: RunDocument | null, now = new Date()): string {
  if (!doc) return `run ${run} has no ${RESULT_NAMES.run}: it has not recorded anything yet`;
  const p = doc.progress;
  const progress = p ? `batch ${p.batches}, ${p.percent}% of ${p.lines} lines` : 'no batch yet';
  const updated = ago(now.getTime() - Date.parse(doc.updatedAt));
  switch (doc.state) {
    case 'complete':
      return `run ${run} is complete (${progress})`;
    case 'failed':
    case 'stopped':
      return `run ${run} ${doc.state === 'failed' ? 'failed' : 'was stopped'}: ${doc.why ?? 'no reason'}`;
    case 'running':
      return isStale(doc, now)
        ? `run ${run} says it is running (${progress}), ` +
            `but there is no news since ${doc.updatedAt} (${updated}): ` +
            'the instance may have died without a word; npm run logs shows its last lines'
        : `run ${run} is still going: ${progress} (updated ${updated}); npm run logs follows it`;
  }
}

/** Says what was refused and why (it is then treated as absent). */
export type Report = (problem: string) => void;

/** Why a run.json read under `run` is not one to go by; null when it is. */
function runDocumentProblem(doc: Record<string, unknown>, run: string): string | null {
  if (doc.run !== run) return `is run ${shown(doc.run)}'s, not ${run}'s`;
  if (!(RUN_STATES as readonly unknown[]).includes(doc.state))
    return `has state ${shown(doc.state)}, not one of ${RUN_STATES.join(', ')}`;
  return null;
}

export class ResultsLocation {
  readonly bucket: string;
  /** The prefix key, ending in "/" ("" for the bucket's root). */
  readonly prefix: string;

  constructor(
    readonly uri: string,
    private readonly report: Report,
  ) {
    const { bucket, key } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = asPrefix(key);
  }

  /** The bytes of `key` from `from` on; null when there is no such object (or nothing new). */
  private async get(key: string, from = 0): Promise<Buffer | null> {
    const Range = from > 0 ? `bytes=${from}-` : undefined;
    try {
      const get = new GetObjectCommand({ Bucket: this.bucket, Key: key, Range });
      const out = await (await s3Client(TIMEOUT_SECONDS)).send(get);
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (e) {
      // Asking past the end: the object has not grown.
      if (isMissing(e) || (e as Error).name === 'InvalidRange') return null;
      throw plainTimeout(e, TIMEOUT_SECONDS);
    }
  }

  /** A JSON object; null when there is none, or it is not one (reported). */
  private async json(key: string): Promise<Record<string, unknown> | null> {
    const bytes = await this.get(key);
    if (!bytes) return null;
    try {
      const doc: unknown = JSON.parse(bytes.toString('utf8'));
      if (doc !== null && typeof doc === 'object' && !Array.isArray(doc))
        return doc as Record<string, unknown>;
    } catch {
      // Reported below, as any other JSON that is not an object.
    }
    this.report(`s3://${this.bucket}/${key} is not a JSON object: ignored`);
    return null;
  }

  /**
   * Every run under the prefix, oldest first (run ids sort by their start time). The keys are
   * listed and cut here, with the prefix asked without its final "/" and no delimiter: moto,
   * with IAM enforced, miscomputes the signature of a query that holds a "/".
   */
  async runs(): Promise<string[]> {
    const found = new Set<string>();
    let ContinuationToken: string | undefined;
    const client = await s3Client(TIMEOUT_SECONDS);
    do {
      const Prefix = this.prefix.replace(/\/$/, '');
      const list = new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken });
      const page = await client.send(list).catch((e) => Promise.reject(plainTimeout(e, TIMEOUT_SECONDS)));
      for (const { Key } of page.Contents ?? []) {
        // Any key that is not <prefix><run id>/… ("results/../x/run.json", say) is no run's.
        const run = Key!.startsWith(this.prefix) ? Key!.slice(this.prefix.length).split('/')[0] : '';
        if (isRunId(run)) found.add(run);
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    return [...found].sort();
  }

  /** The key of a run's object; only ever of a run id. */
  key(run: string, name: string): string {
    if (!isRunId(run)) throw new Error(notARunId('a key', run));
    return `${this.prefix}${run}/${name}`;
  }

  /** The run's run.json; null when there is none, or it is not that run's (reported). */
  async runDocument(run: string): Promise<RunDocument | null> {
    const key = this.key(run, RESULT_NAMES.run);
    const doc = await this.json(key);
    const problem = doc && runDocumentProblem(doc, run);
    if (!problem) return doc as RunDocument | null;
    this.report(`s3://${this.bucket}/${key} ${problem}: ignored`);
    return null;
  }

  /** latest.json; null when there is none, or it names no run id (reported). */
  async latest(): Promise<LatestComplete | null> {
    const key = `${this.prefix}${LATEST_COMPLETE}`;
    const doc = await this.json(key);
    if (!doc || isRunId(doc.run)) return doc as LatestComplete | null;
    this.report(`${notARunId(`s3://${this.bucket}/${key}`, doc.run)}: ignored`);
    return null;
  }

  object(run: string, name: string): Promise<Buffer | null> {
    return this.get(this.key(run, name));
  }

  /** The run's log from byte `from` on (an empty buffer when it has not grown, or is not there yet). */
  async logFrom(run: string, from: number): Promise<Buffer> {
    return (await this.get(this.key(run, RESULT_NAMES.log), from)) ?? Buffer.alloc(0);
  }
}
