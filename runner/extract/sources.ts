/**
 * Sources: staging. Every file of every table becomes a verified local file (local path,
 * https:// or s3:// → downloaded, checksum checked), read once whole: its SHA-256, its lines and
 * records, and an index of byte ranges at record starts that the parser threads take in turn.
 * A header is checked against the table's fields here, before anything is loaded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dataset, Table } from '../dataset/model.ts';
import { UsageError } from '../shared/errors.ts';
import { redact } from '../shared/redact.ts';
import { withRetry, type RetryPolicy } from '../shared/retry.ts';
import { getObjectStream, plainTimeout } from '../shared/s3.ts';
import { isRemoteUri, parseS3Uri, redactUri } from '../shared/uri.ts';
import { splitFields, syntaxOf } from './parse.ts';
import { RecordScanner, type RecordSpan } from './records.ts';
import { decodingFor } from './text.ts';
import type { StageInfo } from '../steps.ts';
import { readFileRange } from './parse.ts';

/** A source that can't be read, is empty, or doesn't match its checksum: exit 1, nothing loaded. */
export class SourceError extends Error {}

/** Bytes of records a parser thread is asked for at a time (ranges start at records). */
export const RANGE_BYTES = 1 << 20;

/** A byte range of whole records; an overlong record is a range of its own. */
export type Range = { from: number; until: number; line: number; overlong: boolean };

export type StagedSource = {
  /** Position in the load order over all tables, from 0. */
  no: number;
  /** The table's index in the dataset, and its name. */
  table: number;
  resource: string;
  /** File name, as stored in the lineage column. */
  name: string;
  uri: string;
  path: string;
  sha256: string;
  bytes: number;
  lines: number;
  records: number;
  ranges: Range[];
  /** Where the header record starts, or -1. */
  headerAt: number;
  /** The file as it was when its checksum was taken: any change on disk since shows here. */
  stat: FileIdentity;
};

type FileIdentity = { size: number; mtimeMs: number; ino: number };

/**
 * What is loaded must be what the recorded checksum says: throws if `source`'s file has changed
 * on disk since it was staged (rewritten in place, replaced, removed).
 */
export function assertUnchanged(source: StagedSource): void {
  const now = statSync(source.path, { throwIfNoEntry: false });
  const { size, mtimeMs, ino } = source.stat;
  if (now && now.size === size && now.mtimeMs === mtimeMs && now.ino === ino) return;
  throw new SourceError(
    `source ${source.uri} changed on disk during the run (its SHA-256 was ${source.sha256} when ` +
      'staged): nothing of this batch was committed; run again to resume, which refuses a file ' +
      'whose SHA-256 is not the one recorded (load such a file into a new database)',
  );
}

const NEWLINE = 0x0a;
/** Byte order marks: UTF-8's is skipped; the others say the file is not UTF-8. */
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const OTHER_BOMS: [string, Buffer][] = [
  ['UTF-32LE', Buffer.from([0xff, 0xfe, 0, 0])],
  ['UTF-32BE', Buffer.from([0, 0, 0xfe, 0xff])],
  ['UTF-16LE', Buffer.from([0xff, 0xfe])],
  ['UTF-16BE', Buffer.from([0xfe, 0xff])],
];

type Fingerprint = Omit<
  StagedSource,
  'no' | 'table' | 'resource' | 'name' | 'uri' | 'path' | 'headerAt' | 'stat'
> & {
  crOnly: boolean;
  encoding: string | null;
};

/** How people write the algorithms' names. */
const HASH_NAMES: Record<string, string> = {
  md5: 'MD5',
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
};

/** Hash algorithms a descriptor may name (Data Package `hash`), as node:crypto calls them. */
const HASHES: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha512: 'sha512' };

/**
 * One pass over a file: its SHA-256 (and `alsoHash`'s), lines, records and their index, as the
 * parser threads read them: a last line without "\n" counts; a UTF-8 byte order mark is no part
 * of the first record.
 */
async function fingerprint(
  file: string,
  table: Table,
  maxRecordBytes: number,
  alsoHash: string | null = null,
): Promise<Fingerprint & { alsoHex: string | null }> {
  const hash = createHash('sha256');
  const other = alsoHash && alsoHash !== 'sha256' ? createHash(HASHES[alsoHash]) : null;
  let bytes = 0;
  let lines = 0;
  let last = NEWLINE;
  let sawCr = false;
  const ranges: Range[] = [];
  let records = 0;
  let open_: Range | null = null;
  const d = table.dialect;
  let head = Buffer.alloc(0);
  const buffer = Buffer.allocUnsafe(1 << 20);
  // One buffer, read into again and again: a stream's new buffer per chunk left up to ~100 MB
  // of garbage outside the JS heap before a collection, and the loader's peak RSS with it.
  const fh = await open(file);
  let scanner: RecordScanner | null = null;
  const onRecord = (r: RecordSpan) => {
    records++;
    if (r.overlong) {
      if (open_) ranges.push(open_);
      ranges.push({ from: r.start, until: r.end, line: r.line, overlong: true });
      open_ = null;
    } else {
      if (!open_) open_ = { from: r.start, until: r.end, line: r.line, overlong: false };
      open_.until = r.end;
      if (open_.until - open_.from >= RANGE_BYTES) {
        ranges.push(open_);
        open_ = null;
      }
    }
  };
  try {
    for (let n; (n = (await fh.read(buffer, 0, buffer.length)).bytesRead) > 0;) {
      const chunk = buffer.subarray(0, n);
      hash.update(chunk);
      other?.update(chunk);
      if (bytes < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - bytes)]);
      if (!scanner) {
        const bom = head.subarray(0, 3).equals(UTF8_BOM) ? 3 : 0;
        scanner = new RecordScanner(syntaxOf(d, maxRecordBytes), onRecord, bom, 1);
        scanner.push(chunk.subarray(bom), bom);
      } else {
        scanner.push(chunk, bytes);
      }
      if (!sawCr && chunk.includes(0x0d)) sawCr = true;
      bytes += n;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
      last = chunk[n - 1];
    }
    scanner?.finish(bytes);
  } finally {
    await fh.close();
  }
  if (open_) ranges.push(open_);
  // Line ends of CR alone: CRs, and not one LF.
  const crOnly = sawCr && lines === 0 && bytes > 1;
  const bomOnly = bytes === 3 && head.subarray(0, 3).equals(UTF8_BOM);
  if (last !== NEWLINE && bytes > 0 && !bomOnly) lines++;
  const encoding = OTHER_BOMS.find(([, bom]) => head.subarray(0, bom.length).equals(bom))?.[0] ?? null;
  return {
    sha256: hash.digest('hex'),
    alsoHex: other ? other.digest('hex') : null,
    bytes,
    lines,
    records,
    ranges,
    crOnly,
    encoding,
  };
}
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
      body = await getObjectStream(parseS3Uri(uri), { timeoutSeconds, signal: abort });
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
 * The header: the first record that is neither blank nor a comment, read range by range (each
 * a few MiB at most). Its fields must be the table's, in order; anything else is refused before
 * a row is loaded, the differences listed.
 */
function checkHeader(
  file: string,
  uri: string,
  table: Table,
  ranges: readonly Range[],
  maxBytes: number,
): number {
  const d = table.dialect;
  const decoding = decodingFor(table.encoding);
  for (const range of ranges) {
    if (range.overlong) break;
    const bytes = readFileRange(file, range.from, range.until - range.from);
    let found: { at: number; text: string } | null = null;
    const scanner = new RecordScanner(
      syntaxOf(d, maxBytes),
      (r: RecordSpan) => {
        if (found) return;
        const body = bytes.subarray(r.start - range.from, r.end - range.from);
        const text = decoding.loose(body).replace(/\r?\n$/, '');
        if (text.trim() === '' || (d.commentChar !== null && text.startsWith(d.commentChar))) return;
        found = { at: r.start, text };
      },
      range.from,
      range.line,
    );
    scanner.push(bytes, range.from);
    scanner.finish(range.until);
    if (!found) continue;
    const { at, text } = found as { at: number; text: string };
    const names = splitFields(d, text);
    const expected = table.fields.map((f) => f.name);
    if (typeof names === 'string') throw new UsageError(`source ${uri}: its header ${names}`);
    if (names.length === expected.length && names.every((n, i) => n === expected[i])) return at;
    const missing = expected.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !expected.includes(n));
    const differences = [
      ...(missing.length ? [`missing: ${missing.map((n) => JSON.stringify(n)).join(', ')}`] : []),
      ...(extra.length ? [`not in the schema: ${extra.map((n) => JSON.stringify(n)).join(', ')}`] : []),
      ...(!missing.length && !extra.length
        ? [`in another order: ${names.map((n) => JSON.stringify(n)).join(', ')}`]
        : []),
    ];
    throw new UsageError(
      `source ${uri}: its header does not match table ${table.name}'s fields (${differences.join('; ')}); ` +
        'fix the descriptor (infer writes one from the file) or the file',
    );
  }
  throw new UsageError(`source ${uri}: no header record, but table ${table.name}'s dialect says it has one`);
}

/**
 * Makes every file of every table a verified local file, in order. Remote files are
 * downloaded into `stageDir`; a previous download is reused only when a pinned checksum
 * proves it intact.
 */
export async function stageSources(
  dataset: Dataset,
  stageDir: string,
  o: { retry: RetryPolicy; log: (line: string) => void; signal?: AbortSignal; maxRecordBytes: number },
): Promise<StageInfo> {
  // The caller holds the database's lock and the folder is that database's own: a .part in
  // it was left by a run that was killed while downloading.
  for (const f of await readdir(stageDir).catch(() => [])) {
    if (f.endsWith('.part')) await rm(path.join(stageDir, f), { force: true });
  }
  const staged: StagedSource[] = [];
  for (const [tableNo, table] of dataset.tables.entries()) {
    for (const source of table.files) {
      const no = staged.length;
      const [algorithm, expected] = source.hash ? source.hash.split(':') : [null, null];
      // What logs, messages and the database show: a signed URL's signature stays out of them.
      const uri = redactUri(source.uri);
      const remote = isRemoteUri(source.uri);
      let file = source.uri;
      const print = (f: string) => fingerprint(f, table, o.maxRecordBytes, algorithm);
      if (remote) {
        file = path.join(stageDir, `${no}-${source.name}`);
        const cached = expected && (await print(file).catch(() => null));
        const intact = cached && (cached.alsoHex ?? cached.sha256) === expected;
        if (!intact) {
          await mkdir(stageDir, { recursive: true });
          o.log(`downloading ${uri}`);
          const attempt = () => download(source.uri, file, o.retry.timeoutSeconds, o.signal);
          await withRetry(`download of ${uri}`, o.retry, o.log, attempt, o.signal).catch((e: Error) => {
            throw new SourceError(`source ${uri}: ${redact(e.message)}`);
          });
        }
      }
      const info = await stat(file).catch((e: NodeJS.ErrnoException) => {
        throw new SourceError(`source ${uri}: ${e.code === 'ENOENT' ? 'file not found' : redact(e.message)}`);
      });
      if (!info.isFile()) throw new SourceError(`source ${uri}: not a regular file`);
      const fp = await print(file).catch((e: Error) => {
        throw new SourceError(`source ${uri}: cannot read: ${redact(e.message)}`);
      });
      if (fp.encoding) {
        throw new SourceError(
          `source ${uri}: the file is ${fp.encoding} (its byte order mark says so); ` +
            'census-etl reads UTF-8: ' +
            'convert it (e.g. iconv -f ' +
            fp.encoding +
            ' -t UTF-8) and load again',
        );
      }
      if (fp.records === 0) {
        const bom = fp.bytes ? ' (only a byte order mark)' : '';
        throw new SourceError(`source ${uri}: the file is empty${bom}`);
      }
      if (fp.crOnly) {
        throw new SourceError(
          `source ${uri}: its lines end with CR alone (classic Mac OS); census-etl reads LF and CRLF ` +
            'line ends: convert it (e.g. tr "\\r" "\\n") and load again',
        );
      }
      const got = fp.alsoHex ?? fp.sha256;
      if (expected && got !== expected) {
        throw new SourceError(
          `source ${uri}: ${HASH_NAMES[algorithm!]} is ${got}, expected ${expected} ` +
            '(corrupt or truncated file?)',
        );
      }
      const headerAt = table.dialect.header ? checkHeader(file, uri, table, fp.ranges, o.maxRecordBytes) : -1;
      const { alsoHex: _, crOnly: __, encoding: ___, ...counts } = fp;
      staged.push({
        no,
        table: tableNo,
        resource: table.name,
        name: source.name,
        uri,
        path: file,
        headerAt,
        // Taken before the checksum: a change while it was read shows too.
        stat: { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino },
        ...counts,
      });
    }
  }
  return { sources: staged };
}
