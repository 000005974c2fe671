/**
 * Sources: staging (local path, https:// or s3:// → a local file, checksum verified) and
 * streaming its lines from any byte offset, parsed by csv-parse, one record per line.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { COLUMNS, FORMAT } from './dataset.ts';
import type { Source } from './params.ts';
import { withRetry, type RetryPolicy } from './retry.ts';
import { parseS3Uri, s3Client } from './s3.ts';

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
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** One pass over a file: its SHA-256 and its line count (a last line without "\n" counts). */
async function fingerprint(file: string): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  let last = NEWLINE;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
    last = chunk[chunk.length - 1];
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
    const remote = /^(https|s3):\/\//.test(source.uri);
    let file = source.uri;
    if (remote) {
      file = path.join(stageDir, `${no}-${name}`);
      const cached = source.sha256 && (await fingerprint(file).catch(() => null))?.sha256 === source.sha256;
      if (!cached) {
        await mkdir(stageDir, { recursive: true });
        log(`downloading ${source.uri}`);
        await withRetry(`download of ${source.uri}`, retry, log, () => download(source.uri, file)).catch((e: Error) => {
          throw new SourceError(`source ${source.uri}: ${e.message}`);
        });
      }
    }
    const info = await stat(file).catch((e: NodeJS.ErrnoException) => {
      throw new SourceError(`source ${source.uri}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`);
    });
    if (!info.isFile()) throw new SourceError(`source ${source.uri}: not a regular file`);
    const print = await fingerprint(file).catch((e: Error) => {
      throw new SourceError(`source ${source.uri}: cannot read: ${e.message}`);
    });
    if (print.bytes === 0) throw new SourceError(`source ${source.uri}: the file is empty`);
    if (source.sha256 && print.sha256 !== source.sha256) {
      throw new SourceError(`source ${source.uri}: SHA-256 is ${print.sha256}, expected ${source.sha256} (corrupt or truncated file?)`);
    }
    staged.push({ no, name, uri: source.uri, path: file, ...print });
  }
  return staged;
}

/** Whole lines of one source, parsed: `fields[i]` is the line numbered `firstLine + i`. */
export type LineChunk = {
  firstLine: number;
  fields: string[][];
  /** Byte offset just past each line (its "\n" included). */
  ends: number[];
  /** The bytes of the lines, and the file offset of their first byte. */
  bytes: Buffer;
  offset: number;
};

/** The raw text of line `i` of a chunk, without its line ending. */
export function rawLine(chunk: LineChunk, i: number): string {
  const start = (i === 0 ? chunk.offset : chunk.ends[i - 1]) - chunk.offset;
  return chunk.bytes.toString('utf8', start, chunk.ends[i] - chunk.offset).replace(/\r?\n$/, '');
}

// quote: false — the files never quote, and a stray `"` must be a bad field, not a parse
// error that stops the load; relax_column_count — a wrong field count is the cleaner's call.
const CSV_OPTIONS = { delimiter: FORMAT.delimiter, quote: false, relax_column_count: true, record_delimiter: '\n' } as const;

const WIDTH_PROBE = Buffer.from(`${FORMAT.delimiter.repeat(COLUMNS.length - 1)}\n`);

function toChunk(bytes: Buffer, offset: number, firstLine: number): LineChunk {
  const ends: number[] = [];
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) ends.push(offset + i + 1);
  if (bytes[bytes.length - 1] !== NEWLINE) ends.push(offset + bytes.length);
  // csv-parse measures every record against the first one and builds an error object for
  // each that differs; a leading line of the expected width (dropped again) keeps a comment
  // line at the top of a chunk from costing that on every record after it.
  const fields = (parse(Buffer.concat([WIDTH_PROBE, bytes]), CSV_OPTIONS) as string[][]).slice(1);
  // csv-parse yields one record per line here; anything else would misnumber lines.
  if (fields.length !== ends.length) throw new Error(`parser returned ${fields.length} records for ${ends.length} lines at byte ${offset}`);
  return { firstLine, fields, ends, bytes, offset };
}

/** Streams a source's lines from `offset` (the start of line `line`) in chunks of whole lines. */
export async function* readLines(source: StagedSource, offset: number, line: number, chunkBytes = 1 << 20): AsyncGenerator<LineChunk> {
  const handle = await open(source.path).catch((e: Error) => {
    throw new SourceError(`source ${source.uri}: cannot open: ${e.message}`);
  });
  try {
    let pos = offset;
    if (offset === 0) {
      const head = Buffer.alloc(3);
      await handle.read(head, 0, 3, 0);
      if (head.equals(BOM)) pos = 3;
    }
    let carry = Buffer.alloc(0);
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, pos);
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const dataOffset = pos - carry.length;
      pos += bytesRead;
      const eof = bytesRead === 0;
      const end = eof ? data.length : data.lastIndexOf(NEWLINE) + 1;
      carry = data.subarray(end);
      if (end > 0) {
        const chunk = toChunk(data.subarray(0, end), dataOffset, line);
        line += chunk.ends.length;
        yield chunk;
      }
      if (eof) return;
    }
  } finally {
    await handle.close();
  }
}
