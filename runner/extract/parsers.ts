/**
 * The parser threads: a pool that parses byte ranges of the sources (parser-thread.ts) while the
 * main thread writes to the database, and one source's records, a few ranges ahead.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParsedRecords, RangeJob } from './parse.ts';
import type { ParseJob, ParseReply, ParserSetup } from './parser-thread.ts';
import type { StagedSource } from './sources.ts';

/** Bundled, the parser thread's own file, beside the bundle (infra/bundle.ts names it). */
declare const CENSUS_PARSER_FILE: string;

/**
 * A parser thread runs parser-thread.ts. From source it is loaded through tsx (which worker
 * threads do not inherit); bundled, from parser.mjs, which holds that module and its imports only.
 */
function startParser(setup: ParserSetup): Worker {
  // Parsing makes much short-lived garbage; a small heap keeps the loader's memory flat (a
  // range is a few MiB at most: records beyond the limit are never read whole).
  const resourceLimits = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 };
  const options = { resourceLimits, workerData: setup };
  const bundled = !import.meta.url.endsWith('.ts');
  if (bundled) return new Worker(new URL(CENSUS_PARSER_FILE, import.meta.url), options);
  const self = JSON.stringify(new URL('./parser-thread.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${self}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Parser threads: one per core beside the main thread, which inserts (on two cores, one),
 * and no more than MAX_PARSERS: one parses several times faster than SQLite inserts.
 * CENSUS_PARSER_THREADS=n sets the number (npm run bench compares 1 and more).
 */
export function parserThreads(env = process.env, cores = os.availableParallelism()): number {
  const set = env.CENSUS_PARSER_THREADS;
  if (set === undefined || set === '') return Math.min(MAX_PARSERS, Math.max(1, cores - 1));
  const n = Number(set);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`CENSUS_PARSER_THREADS must be a whole number from 1 to 64, not ${JSON.stringify(set)}`);
  }
  return n;
}
const MAX_PARSERS = 4;

type Pending = { resolve: (l: ParsedRecords) => void; reject: (e: Error) => void };

/**
 * Threads that parse and clean byte ranges while the main thread writes to SQLite. Results
 * come back in the order asked, so line numbers and checkpoints stay exact. A thread that
 * fails or stops fails every job asked and every job after it with one error, naming it.
 */
export class Parsers {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  constructor(
    setup: ParserSetup,
    readonly size = parserThreads(),
    start: (setup: ParserSetup) => Worker = startParser,
  ) {
    this.workers = Array.from({ length: size }, (_, n) => {
      const w = start(setup);
      w.on('message', ({ id, records, error }: ParseReply) => {
        const pending = this.waiting.get(id);
        if (!pending) return; // the pool failed while this job was under way: already rejected
        this.waiting.delete(id);
        if (error) pending.reject(new Error(error));
        else pending.resolve(records!);
      });
      w.on('error', (e) => this.fail(`parser thread ${n + 1} of ${size} failed: ${e.message}`));
      w.on('exit', (code) => this.fail(`parser thread ${n + 1} of ${size} stopped (exit code ${code})`));
      return w;
    });
  }

  /** The first failure fails the pool; whatever the other threads do after it is moot. */
  private fail(message: string) {
    if (this.failure || this.closing) return;
    this.failure = new Error(message);
    for (const p of this.waiting.values()) p.reject(this.failure);
    this.waiting.clear();
  }

  parse(job: RangeJob): Promise<ParsedRecords> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.size].postMessage({ ...job, id } satisfies ParseJob);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Parsed records of one source. */
export type RecordChunk = ParsedRecords;

/**
 * A source's records from `offset` (a record's start, on line `line`), parsed and cleaned by
 * the parser threads a few ranges ahead of the caller, range by range.
 */
export async function* parsedRanges(
  parsers: Pick<Parsers, 'size' | 'parse'>,
  source: Pick<StagedSource, 'uri' | 'path' | 'ranges' | 'table' | 'headerAt'>,
  offset: number,
  line: number,
): AsyncGenerator<RecordChunk> {
  // The ranges from the one holding the checkpoint; that one is read from the checkpoint on.
  const ranges = source.ranges.filter((r) => r.until > offset);
  const ahead: Promise<ParsedRecords>[] = [];
  let next = 0;
  let from = offset;
  let fromLine = line;
  const ask = () => {
    if (next >= ranges.length) return;
    const r = ranges[next++];
    const start = Math.max(from, r.from);
    const job = {
      table: source.table,
      file: source.path,
      from: start,
      until: r.until,
      line: start === r.from ? r.line : fromLine,
      overlong: r.overlong,
      headerAt: source.headerAt,
    };
    const parsed = parsers.parse(job);
    parsed.catch(() => {}); // awaited in turn below; until then its failure is not unhandled
    ahead.push(parsed);
    from = r.until;
    fromLine = -1; // later ranges start on their own line
  };
  for (let i = 0; i <= parsers.size; i++) ask();
  while (ahead.length) {
    const records = await ahead.shift()!.catch((e: Error) => {
      throw new Error(`source ${source.uri}: cannot read: ${e.message}`);
    });
    ask();
    if (records.ends.length) yield records;
  }
}
