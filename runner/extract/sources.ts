/**
 * Sources: staging (local path, https:// or s3:// → a local file, checksum verified). Their
 * lines are streamed from any byte offset by lines.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Source } from '../params.ts';
import { withRetry, type RetryPolicy } from '../shared/retry.ts';
import { plainTimeout, s3Client } from '../shared/s3.ts';
import { parseS3Uri, redactUri } from '../shared/uri.ts';

/** A source that can't be read, is empty, or doesn't match its checksum: exit 1, nothing loaded. */
export class SourceError extends Error {}

export type StagedSource = {
  /** Position in the load order, from 0. */
  no: number;
  /** File name, as stored in the `source` lineage column. */
  name: string;
  uri: string;
  path: string;
  sha256: string;
  bytes: number;
  lines: number;
};

const NEWLINE = 0x0a;
/** A UTF-8 byte order mark: not part of the first line (lines.ts skips it). */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * One pass over a file: its SHA-256 and its line count, as lines.ts reads them: a last line
 * without "\n" counts; a byte order mark alone is no line.
 */
async function fingerprint(file: string): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  let last = NEWLINE;
  let head = Buffer.alloc(0);
  // One buffer, read into again and again: a stream's new buffer per chunk left up to ~100 MB
  // of garbage outside the JS heap before a collection, and the loader's peak RSS with it.
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fh = await open(file);
  try {
    for (let n; (n = (await fh.read(buffer, 0, buffer.length)).bytesRead) > 0;) {
      const chunk = buffer.subarray(0, n);
      hash.update(chunk);
      if (bytes < BOM.length) head = Buffer.concat([head, chunk.subarray(0, BOM.length - bytes)]);
      bytes += n;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
      last = chunk[n - 1];
    }
  } finally {
    await fh.close();
  }
  const bomOnly = bytes === BOM.length && head.equals(BOM);
  if (last !== NEWLINE && !bomOnly) lines++;
  return { sha256: hash.digest('hex'), bytes, lines };
}

/** What staging hands to the load: every source as a verified local file, in load order. */
export type StageInfo = { sources: StagedSource[] };

/** A download answered with an HTTP error; its status says whether a retry can help (retry.ts). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    statusText: string,
  ) {
    super(`HTTP ${status} ${statusText}`);
  }
}

/**
 * Downloads `uri` to `target` through a .part file of this attempt's own, created before
 * anything can fail (so it exists before it is removed again) and renamed into place once
 * whole. `timeoutSeconds` is an idle timeout (connecting, the answer, each wait for bytes),
 * not a limit on the whole download: a slow but steady source is never cut off.
 */
async function download(
  uri: string,
  target: string,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  const part = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const quiet = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new Error(`no data for ${timeoutSeconds}s`)), timeoutSeconds * 1000);
  };
  const abort = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
  const file = await open(part, 'wx');
  try {
    quiet();
    let body: Readable;
    if (uri.startsWith('s3://')) {
      const { bucket, key } = parseS3Uri(uri);
      const get = new GetObjectCommand({ Bucket: bucket, Key: key });
      body = (await s3Client(timeoutSeconds).send(get, { abortSignal: abort })).Body as Readable;
    } else {
      const res = await fetch(uri, { signal: abort });
      if (!res.ok || !res.body) throw new HttpError(res.status, res.statusText);
      body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    }
    const eachChunk = new Transform({ transform: (chunk, _encoding, done) => (quiet(), done(null, chunk)) });
    await pipeline(body, eachChunk, file.createWriteStream(), { signal: abort });
    await rename(part, target);
  } catch (e) {
    throw idle.signal.aborted ? idle.signal.reason : plainTimeout(e, timeoutSeconds);
  } finally {
    clearTimeout(timer);
    await file.close().catch(() => {}); // closed already by its stream, unless that never started
    await rm(part, { force: true });
  }
}

/**
 * Makes every source a verified local file, in order. Remote sources are downloaded into
 * `stageDir`; a previous download is reused only when a pinned checksum proves it intact.
 */
export async function stageSources(
  sources: readonly Source[],
  stageDir: string,
  retry: RetryPolicy,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<StageInfo> {
  // The caller holds the database's lock and the folder is that database's own: a .part in
  // it was left by a run that was killed while downloading.
  for (const f of await readdir(stageDir).catch(() => [])) {
    if (f.endsWith('.part')) await rm(path.join(stageDir, f), { force: true });
  }
  const staged: StagedSource[] = [];
  for (const [no, source] of sources.entries()) {
    const name = path.posix.basename(source.uri.replace(/[?#].*$/, ''));
    // What logs, messages and the database show: a signed URL's signature stays out of them.
    const uri = redactUri(source.uri);
    const remote = /^(https|s3):\/\//.test(source.uri);
    let file = source.uri;
    if (remote) {
      file = path.join(stageDir, `${no}-${name}`);
      const cached = source.sha256 && (await fingerprint(file).catch(() => null))?.sha256 === source.sha256;
      if (!cached) {
        await mkdir(stageDir, { recursive: true });
        log(`downloading ${uri}`);
        const attempt = () => download(source.uri, file, retry.timeoutSeconds, signal);
        await withRetry(`download of ${uri}`, retry, log, attempt, signal).catch((e: Error) => {
          throw new SourceError(`source ${uri}: ${e.message}`);
        });
      }
    }
    const info = await stat(file).catch((e: NodeJS.ErrnoException) => {
      throw new SourceError(`source ${uri}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`);
    });
    if (!info.isFile()) throw new SourceError(`source ${uri}: not a regular file`);
    const print = await fingerprint(file).catch((e: Error) => {
      throw new SourceError(`source ${uri}: cannot read: ${e.message}`);
    });
    if (print.lines === 0) {
      const bom = print.bytes ? ' (only a byte order mark)' : '';
      throw new SourceError(`source ${uri}: the file is empty${bom}`);
    }
    if (source.sha256 && print.sha256 !== source.sha256) {
      throw new SourceError(
        `source ${uri}: SHA-256 is ${print.sha256}, expected ${source.sha256} (corrupt or truncated file?)`,
      );
    }
    staged.push({ no, name, uri, path: file, ...print });
  }
  return { sources: staged };
}
