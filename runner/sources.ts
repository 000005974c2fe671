/**
 * Sources: staging (local path, https:// or s3:// → a local file, checksum verified). Their
 * lines are streamed from any byte offset by lines.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Source } from './params.ts';
import { withRetry, type RetryPolicy } from './retry.ts';
import { s3Client } from './s3.ts';
import { parseS3Uri, redactUri } from './uri.ts';

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

/** One pass over a file: its SHA-256 and its line count (a last line without "\n" counts). */
async function fingerprint(file: string): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  let last = NEWLINE;
  // One buffer, read into again and again: a stream's new buffer per chunk left up to ~100 MB
  // of garbage outside the JS heap before a collection, and the loader's peak RSS with it.
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fh = await open(file);
  try {
    for (let n; (n = (await fh.read(buffer, 0, buffer.length)).bytesRead) > 0; ) {
      const chunk = buffer.subarray(0, n);
      hash.update(chunk);
      bytes += n;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
      last = chunk[n - 1];
    }
  } finally {
    await fh.close();
  }
  if (last !== NEWLINE) lines++;
  return { sha256: hash.digest('hex'), bytes, lines };
}

async function download(uri: string, target: string): Promise<void> {
  const part = `${target}.part`;
  try {
    let body: Readable;
    if (uri.startsWith('s3://')) {
      const { bucket, key } = parseS3Uri(uri);
      const out = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      body = out.Body as Readable;
    } else {
      const res = await fetch(uri);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    }
    await pipeline(body, createWriteStream(part));
    await rename(part, target);
  } finally {
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
): Promise<StagedSource[]> {
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
        await withRetry(`download of ${uri}`, retry, log, () => download(source.uri, file)).catch((e: Error) => {
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
    if (print.bytes === 0) throw new SourceError(`source ${uri}: the file is empty`);
    if (source.sha256 && print.sha256 !== source.sha256) {
      throw new SourceError(`source ${uri}: SHA-256 is ${print.sha256}, expected ${source.sha256} (corrupt or truncated file?)`);
    }
    staged.push({ no, name, uri, path: file, ...print });
  }
  return staged;
}
