/**
 * The loader's two stages measured apart, in this process, on the same files as a run:
 * - parsing alone: the parser threads (1 and more) reading, parsing and cleaning every range;
 * - inserting alone (the insert-only ceiling): the real Loader and store on a fresh database,
 *   same batches, statements and transactions as a run, fed ranges parsed beforehand.
 */
import { parseRange, type ParsedLines } from '../../runner/extract/lines.ts';
import type { ParseJob } from '../../runner/extract/parser-thread.ts';
import { Parsers, cleanedChunks } from '../../runner/extract/parsers.ts';
import { Loader } from '../../runner/load/batches.ts';
import { sourcesIn } from '../../runner/params.ts';
import { DEFAULT_RETRY } from '../../runner/shared/retry.ts';
import { stageSources, type StagedSource } from '../../runner/extract/sources.ts';
import { openStore, registerSources } from '../../runner/store/store.ts';

export const stage = async (dir: string, stageDir: string): Promise<StagedSource[]> =>
  (await stageSources(sourcesIn(dir), stageDir, { ...DEFAULT_RETRY, attempts: 1 }, () => {})).sources;

/** Lines a second parsed and cleaned by `threads` parser threads, every source start to end. */
export async function parseOnly(
  sources: readonly StagedSource[],
  threads: number,
): Promise<{ lines: number; linesPerS: number }> {
  const parsers = new Parsers(threads);
  try {
    let lines = 0;
    const t0 = performance.now();
    for (const s of sources) {
      for await (const chunk of cleanedChunks(parsers, s, 0, 1)) lines += chunk.ends.length;
    }
    return { lines, linesPerS: (lines / (performance.now() - t0)) * 1000 };
  } finally {
    await parsers.close();
  }
}

/** Stands in for the parser threads: answers each job with the range parsed before, in order. */
class Replay {
  readonly size = 1;
  private readonly ranges: ParsedLines[] = [];
  private next = 0;

  /** Parses every range a load of `sources` asks for, as the loader will ask for it. */
  static async record(sources: readonly StagedSource[]): Promise<Replay> {
    const replay = new Replay();
    const parse = async ({ file, origin, from, until }: Omit<ParseJob, 'id'>) =>
      replay.keep(parseRange(file, origin, from, until));
    const recorder = { size: replay.size, parse };
    for (const s of sources) for await (const _ of cleanedChunks(recorder, s, 0, 1));
    return replay;
  }

  private keep(lines: ParsedLines) {
    this.ranges.push(lines);
    return lines;
  }

  parse = async () => this.ranges[this.next++];
  close = async () => {};
}

/** Records a second, every batch of 1,630 committed as a run commits it, parsing already done. */
export async function insertOnly(
  sources: readonly StagedSource[],
  db: string,
  batchSize: number,
): Promise<{ records: number; recordsPerS: number; cpuS: number }> {
  const replay = await Replay.record(sources);
  const store = openStore(db);
  try {
    registerSources(store.db, sources);
    const loader = new Loader(store.db, sources, batchSize, replay);
    let records = 0;
    const cpu = process.threadCpuUsage(); // this thread's: the loader's inserting thread, as in a run
    const t0 = performance.now();
    for (let r = await loader.next(); ; r = await loader.next()) {
      records += r.loaded + r.quarantined;
      if (r.done) break;
    }
    const { user, system } = process.threadCpuUsage(cpu);
    return { records, recordsPerS: (records / (performance.now() - t0)) * 1000, cpuS: (user + system) / 1e6 };
  } finally {
    store.close();
  }
}
