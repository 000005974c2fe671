/**
 * Loading: pulls cleaned lines from the sources in order and gathers them into batches of
 * exactly `batchSize` records (loaded or quarantined; skipped lines ride along), each
 * committed with its checkpoint. One `Loader.next()` is one batch.
 */
import { COLUMNS } from './dataset.ts';
import { Parsers, QUARANTINE, ROW, SKIP, cleanedChunks, decode, type LineChunk } from './lines.ts';
import type { StagedSource } from './sources.ts';
import { batchWriter, readProgress, rowid, type Batch, type DB, type Quarantined, type SourceProgress } from './store.ts';
import type { Value } from './clean.ts';

export type BatchResult = {
  batch: number;
  loaded: number;
  quarantined: number;
  skipped: number;
  ms: number;
  /** Lines accounted for so far, all sources. */
  linesDone: number;
  done: boolean;
};

const WIDTH = COLUMNS.length;

export class Loader {
  private readonly write: (batch: Batch) => number;
  private readonly progress: SourceProgress[];
  private readonly parsers = new Parsers();
  private current = 0;
  private lines: AsyncGenerator<LineChunk> | null = null;
  private chunk: LineChunk | null = null;
  /** Position in `chunk`: the next line, and the index of its values and quarantine entry. */
  private index = 0;
  /** Set when a batch failed: the read position has moved past lines that were not committed. */
  private failed = false;
  private valueAt = 0;
  private quarantineAt = 0;

  constructor(
    db: DB,
    private readonly sources: readonly StagedSource[],
    private readonly batchSize: number,
  ) {
    this.write = batchWriter(db);
    this.progress = readProgress(db);
    while (this.current < sources.length && this.progress[this.current].nextLine > sources[this.current].lines) this.current++;
  }

  get linesTotal() {
    return this.sources.reduce((n, s) => n + s.lines, 0);
  }

  get linesDone() {
    return this.progress.reduce((n, p) => n + p.nextLine - 1, 0);
  }

  get done() {
    return this.current >= this.sources.length;
  }

  close(): Promise<void> {
    return this.parsers.close();
  }

  /** Makes `chunk`/`index` point at the next line of the current source; false at its end. */
  private async advance(): Promise<boolean> {
    while (!this.chunk || this.index >= this.chunk.ends.length) {
      if (!this.lines) {
        const p = this.progress[this.current];
        this.lines = cleanedChunks(this.parsers, this.sources[this.current], p.nextOffset, p.nextLine);
      }
      const step = await this.lines.next();
      if (step.done) {
        this.lines = null;
        this.chunk = null;
        return false;
      }
      this.chunk = step.value;
      this.index = this.valueAt = this.quarantineAt = 0;
    }
    return true;
  }

  private async nextSource() {
    await this.lines?.return(undefined);
    this.lines = null;
    this.chunk = null;
    this.current++;
  }

  /** Reads and commits one batch. */
  async next(): Promise<BatchResult> {
    if (this.failed) throw new Error('a batch failed earlier: start a new run to resume from the last checkpoint');
    this.failed = true;
    const started = performance.now();
    const rows: Value[] = [];
    let rowCount = 0;
    const quarantined: Quarantined[] = [];
    let skipped = 0;
    const touched = new Map<number, SourceProgress>();
    // Work on copies: the in-memory cursor moves only once the transaction has committed.
    const pending = (no: number) => {
      let p = touched.get(no);
      if (!p) touched.set(no, (p = { ...this.progress[no] }));
      return p;
    };

    while (!this.done) {
      const source = this.sources[this.current];
      if (!(await this.advance())) {
        throw new Error(`source ${source.uri} ended before line ${source.lines}, its length when staged: was it changed during the run?`);
      }
      const chunk = this.chunk!;
      const i = this.index;
      const kind = chunk.kinds[i];
      // A full batch still takes the blank and comment lines that follow it, so the last
      // batch of the data ends the run; the next record waits for the next batch.
      if (kind !== SKIP && rowCount + quarantined.length === this.batchSize) break;
      this.index++;
      const p = pending(this.current);
      const line = chunk.firstLine + i;
      if (kind === ROW) {
        rows.push(rowid(source.no, line));
        for (let c = 0; c < WIDTH; c++) rows.push(decode(c, chunk.values[this.valueAt + c]));
        rows.push(source.name, line);
        this.valueAt += WIDTH;
        rowCount++;
        p.loaded++;
      } else if (kind === QUARANTINE) {
        const [raw, reason] = [chunk.raws[this.quarantineAt], chunk.reasons[this.quarantineAt]];
        quarantined.push({ sourceNo: source.no, source: source.name, line, raw, reason });
        this.quarantineAt++;
        p.quarantined++;
      } else {
        skipped++;
        p.skipped++;
      }
      p.nextLine = line + 1;
      p.nextOffset = chunk.ends[i];
      if (p.nextLine > source.lines) await this.nextSource();
    }
    const changes = [...touched.values()];
    const batch = this.write({ rows, rowCount, quarantined, skipped, progress: changes, ms: performance.now() - started });
    for (const p of changes) this.progress[p.no] = p;
    this.failed = false;
    return {
      batch,
      loaded: rowCount,
      quarantined: quarantined.length,
      skipped,
      ms: performance.now() - started,
      linesDone: this.linesDone,
      done: this.done,
    };
  }
}

