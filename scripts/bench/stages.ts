/**
 * The loader's two stages measured apart, in this process, on the same files as a run:
 * - parsing alone: the parser threads (1 and more) reading, parsing and cleaning every range;
 * - inserting alone (the insert-only ceiling): the real Loader and store on a fresh database,
 *   same batches, statements and transactions as a run, fed ranges parsed beforehand.
 */
import { loadDataset } from '../../runner/dataset/dataset.ts';
import type { Dataset } from '../../runner/dataset/model.ts';
import { parseRange, type ParsedRecords, type RangeJob } from '../../runner/extract/parse.ts';
import { Parsers, parsedRanges } from '../../runner/extract/parsers.ts';
import { Loader } from '../../runner/load/batches.ts';
import { DEFAULTS } from '../../runner/params.ts';
import { DEFAULT_RETRY } from '../../runner/shared/retry.ts';
import { stageSources, type StagedSource } from '../../runner/extract/sources.ts';
import { openStore } from '../../runner/store/store.ts';

const MAX_RECORD = DEFAULTS.maxRecordBytes;

/** Adult, its files read from `dir`. */
export const adultIn = async (dir: string): Promise<Dataset> => (await loadDataset(null, dir)).dataset;

export async function stage(dir: string, stageDir: string): Promise<StagedSource[]> {
  const options = { retry: { ...DEFAULT_RETRY, attempts: 1 }, log: () => {}, maxRecordBytes: MAX_RECORD };
  return (await stageSources(await adultIn(dir), stageDir, options)).sources;
}

/** Records a second parsed and cleaned by `threads` parser threads, every source start to end. */
export async function parseOnly(
  dataset: Dataset,
  sources: readonly StagedSource[],
  threads: number,
): Promise<{ lines: number; linesPerS: number }> {
  const parsers = new Parsers({ tables: dataset.tables, maxRecordBytes: MAX_RECORD }, threads);
  try {
    let lines = 0;
    const t0 = performance.now();
    for (const s of sources) {
      for await (const chunk of parsedRanges(parsers, s, 0, 1)) lines += chunk.ends.length;
    }
    return { lines, linesPerS: (lines / (performance.now() - t0)) * 1000 };
  } finally {
    await parsers.close();
  }
}

/** Stands in for the parser threads: answers each job with the range parsed before, in order. */
class Replay {
  readonly size = 1;
  private readonly ranges: ParsedRecords[] = [];
  private next = 0;

  /** Parses every range a load of `sources` asks for, as the loader will ask for it. */
  static async record(dataset: Dataset, sources: readonly StagedSource[]): Promise<Replay> {
    const replay = new Replay();
    const parse = async (job: RangeJob) =>
      replay.keep(parseRange(dataset.tables[job.table], job, MAX_RECORD));
    const recorder = { size: replay.size, parse };
    for (const s of sources) for await (const _ of parsedRanges(recorder, s, 0, 1));
    return replay;
  }

  private keep(records: ParsedRecords) {
    this.ranges.push(records);
    return records;
  }

  parse = async () => this.ranges[this.next++];
  close = async () => {};
}

/** Records a second, every batch committed as a run commits it, parsing already done. */
export async function insertOnly(
  dataset: Dataset,
  sources: readonly StagedSource[],
  db: string,
  batchSize: number,
): Promise<{ records: number; recordsPerS: number; cpuS: number }> {
  const replay = await Replay.record(dataset, sources);
  const store = await openStore(db, { dataset });
  try {
    await store.registerSources(sources);
    const loader = await Loader.open(store, sources, { batchSize, maxQuarantinedShare: 1, parsers: replay });
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
    await store.close();
  }
}
