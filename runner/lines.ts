/**
 * Lines of a source file: a byte range read, split into lines, parsed by csv-parse (one
 * record per line) and cleaned, in parser threads (the pool is at the end of this module).
 * A range holds no state and comes back as plain arrays that cross threads cheaply.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parse } from 'csv-parse/sync';
import { cleanRecord, type Value } from './clean.ts';
import { COLUMNS, FORMAT } from './dataset.ts';
// Types only: the parser threads load this module and must not load the staging code's SDK.
import type { StagedSource } from './sources.ts';

/**
 * Rows cross from the parser thread as numbers only, in a buffer handed over without a
 * copy: an integer is itself, a nominal value is its index in the domain, NULL is NaN.
 * Decoding yields the domain's own strings, so the main thread allocates none per row.
 */
const codes = COLUMNS.map((c) => (c.kind === 'nominal' ? new Map(c.domain.map((v, i) => [v, i])) : null));
const encode = (column: number, v: Value): number => (v === null ? NaN : typeof v === 'number' ? v : codes[column]!.get(v)!);

export function decode(column: number, x: number): Value {
  if (Number.isNaN(x)) return null;
  const c = COLUMNS[column];
  return c.kind === 'nominal' ? c.domain[x] : x;
}

export const ROW = 0;
export const QUARANTINE = 1;
export const SKIP = 2;

/** The lines that start inside a byte range, each cleaned. */
export type ParsedLines = {
  /** Offset just past each line (its "\n" included). */
  ends: number[];
  /** ROW, QUARANTINE or SKIP, per line. */
  kinds: Uint8Array;
  /** COLUMNS.length encoded values per ROW line, in order (see `encode`/`decode`). */
  values: Float64Array;
  /** Reason and raw text per QUARANTINE line, in order. */
  reasons: string[];
  raws: string[];
};

const NEWLINE = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const STEP = 1 << 16;

// quote: false — the files never quote, and a stray `"` must be a bad field, not a parse
// error that stops the load; relax_column_count — a wrong field count is the cleaner's call.
export const CSV_OPTIONS = { delimiter: FORMAT.delimiter, quote: false, relax_column_count: true, record_delimiter: '\n' } as const;
// csv-parse measures every record against the first and builds an error object for each
// that differs; a first line of the expected width (dropped again) keeps a comment line at
// the top of a range from costing that on every record after it.
const WIDTH_PROBE = Buffer.from(`${FORMAT.delimiter.repeat(COLUMNS.length - 1)}\n`);

/** Splits lines into fields exactly as the loader does (one record per line). */
export const parseFields = (bytes: Buffer): string[][] => (parse(Buffer.concat([WIDTH_PROBE, bytes]), CSV_OPTIONS) as string[][]).slice(1);

function read(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  return buf.subarray(0, readSync(fd, buf, 0, length, at));
}

/**
 * Parses the lines of `file` that start in [from, until). `origin` is a known line start
 * (0 or a checkpoint) at or before `from`; any other `from` is moved to the next line start.
 */
export function parseRange(file: string, origin: number, from: number, until: number): ParsedLines {
  const fd = openSync(file, 'r');
  try {
    let start = from;
    if (from > origin) {
      const prev = read(fd, from - 1, 1);
      if (prev[0] !== NEWLINE) {
        // Mid-line: that line belongs to the range before; ours start after its end.
        for (let at = from; ; at += STEP) {
          const piece = read(fd, at, STEP);
          const nl = piece.indexOf(NEWLINE);
          if (nl !== -1) { start = at + nl + 1; break; }
          if (piece.length < STEP) { start = at + piece.length; break; }
        }
      }
    } else if (from === 0 && read(fd, 0, 3).equals(BOM)) {
      start = 3;
    }
    if (start >= until) return { ends: [], kinds: new Uint8Array(0), values: new Float64Array(0), reasons: [], raws: [] };
    // Read to the end of the line holding byte `until - 1`.
    const pieces = [read(fd, start, until - start)];
    for (let at = until; pieces.at(-1)!.at(-1) !== NEWLINE; at += STEP) {
      const piece = read(fd, at, STEP);
      if (piece.length === 0) break;
      const nl = piece.indexOf(NEWLINE);
      pieces.push(nl === -1 ? piece : piece.subarray(0, nl + 1));
    }
    return parseLines(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces), start);
  } finally {
    closeSync(fd);
  }
}

/** Parses and cleans whole lines whose first byte is at file offset `offset`. */
export function parseLines(bytes: Buffer, offset: number): ParsedLines {
  const ends: number[] = [];
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) ends.push(offset + i + 1);
  if (bytes.length && bytes[bytes.length - 1] !== NEWLINE) ends.push(offset + bytes.length);
  const fields = parseFields(bytes);
  // One record per line, or every line number after this one would be wrong.
  if (fields.length !== ends.length) throw new Error(`parser returned ${fields.length} records for ${ends.length} lines at byte ${offset}`);
  const kinds = new Uint8Array(ends.length);
  const values = new Float64Array(fields.length * COLUMNS.length);
  let at = 0;
  const reasons: string[] = [];
  const raws: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const outcome = cleanRecord(fields[i]);
    if (outcome.kind === 'row') {
      kinds[i] = ROW;
      for (let c = 0; c < COLUMNS.length; c++) values[at++] = encode(c, outcome.values[c]);
    } else if (outcome.kind === 'quarantine') {
      kinds[i] = QUARANTINE;
      const lineStart = (i === 0 ? offset : ends[i - 1]) - offset;
      raws.push(bytes.toString('utf8', lineStart, ends[i] - offset).replace(/\r?\n$/, ''));
      reasons.push(outcome.reason);
    } else {
      kinds[i] = SKIP;
    }
  }
  return { ends, kinds, values: values.slice(0, at), reasons, raws };
}

/** What a parser thread is asked: the lines of `file` starting in [from, until). */
export type ParseJob = { id: number; file: string; origin: number; from: number; until: number };
export type ParseReply = { id: number; lines?: ParsedLines; error?: string };

/** Marks a thread started to parse (the module may be loaded by a whole bundled CLI). */
export const PARSER_ROLE = 'census-etl-parser';

if (!isMainThread && workerData?.role === PARSER_ROLE) {
  parentPort!.on('message', (job: ParseJob) => {
    let reply: ParseReply;
    try {
      reply = { id: job.id, lines: parseRange(job.file, job.origin, job.from, job.until) };
    } catch (e) {
      reply = { id: job.id, error: (e as Error).message };
    }
    // The values' buffer is handed over, not copied.
    parentPort!.postMessage(reply, reply.lines ? [reply.lines.values.buffer as ArrayBuffer] : []);
  });
}

/** Parsed, cleaned lines of one source, numbered from `firstLine`. */
export type LineChunk = ParsedLines & { firstLine: number };

/**
 * A parser thread runs this module. From source it is loaded through tsx (which worker
 * threads do not inherit); bundled, every module is the one file this code is in.
 */
function startParser(): Worker {
  // Parsing makes much short-lived garbage; a small heap keeps the loader's memory flat.
  const options = { workerData: { role: PARSER_ROLE }, resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(import.meta.url), options);
  const self = JSON.stringify(import.meta.url);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${self}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Threads that parse and clean byte ranges while the main thread writes to SQLite. Results
 * come back in the order asked, so line numbers and checkpoints stay exact.
 */
export class Parsers {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve: (l: ParsedLines) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(readonly size = PARSER_THREADS) {
    this.workers = Array.from({ length: size }, () => {
      const w = startParser();
      w.on('message', ({ id, lines, error }: ParseReply) => {
        const pending = this.waiting.get(id)!;
        this.waiting.delete(id);
        if (error) pending.reject(new Error(error));
        else pending.resolve(lines!);
      });
      w.on('error', (e) => this.failAll(e));
      return w;
    });
  }

  private failAll(e: Error) {
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  parse(job: Omit<ParseJob, 'id'>): Promise<ParsedLines> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.size].postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Two cores: one parser thread beside the main thread that inserts (npm run bench). */
const PARSER_THREADS = 1;
const RANGE_BYTES = 1 << 18;

/**
 * A source's lines from `offset` (the start of line `line`), parsed and cleaned by the parser
 * threads a few ranges ahead of the caller, in chunks.
 */
export async function* cleanedChunks(
  parsers: Parsers,
  source: Pick<StagedSource, 'uri' | 'path' | 'bytes'>,
  offset: number,
  line: number,
): AsyncGenerator<LineChunk> {
  const ahead: Promise<ParsedLines>[] = [];
  let from = offset;
  const ask = () => {
    if (from >= source.bytes) return;
    const parsed = parsers.parse({ file: source.path, origin: offset, from, until: Math.min(from + RANGE_BYTES, source.bytes) });
    parsed.catch(() => {}); // awaited in turn below; until then its failure is not unhandled
    ahead.push(parsed);
    from += RANGE_BYTES;
  };
  for (let i = 0; i <= parsers.size; i++) ask();
  while (ahead.length) {
    const lines = await ahead.shift()!.catch((e: Error) => {
      throw new Error(`source ${source.uri}: cannot read: ${e.message}`);
    });
    ask();
    if (lines.ends.length === 0) continue;
    yield { ...lines, firstLine: line };
    line += lines.ends.length;
  }
}
