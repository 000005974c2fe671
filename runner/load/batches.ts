/**
 * Loading: pulls cleaned lines from the sources in order and gathers them into batches of
 * exactly `batchSize` records (loaded or quarantined; skipped lines ride along), each
 * committed with its checkpoint. One `Loader.next()` is one batch.
 */
import { QUARANTINE, ROW, SKIP } from '../extract/lines.ts';
import { Parsers, cleanedChunks, type LineChunk } from '../extract/parsers.ts';
import { SLOTS, type RowBlock } from '../shared/rows.ts';
import type { StagedSource } from '../extract/sources.ts';
import {
  batchWriter,
  readProgress,
  type Batch,
  type DB,
  type Quarantined,
  type SourceProgress,
} from '../store/store.ts';

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

export class Loader {
  private readonly write: (batch: Batch) => number;
  private readonly progress: SourceProgress[];
  private current = 0;
  private lines: AsyncGenerator<LineChunk> | null = null;
  private chunk: LineChunk | null = null;
  /** Position in `chunk`: the next line, and the index of its next row and quarantine entry. */
  private index = 0;
  /** Set when a batch failed: the read position has moved past lines that were not committed. */
  private failed = false;
  private rowAt = 0;
  private quarantineAt = 0;

  constructor(
    db: DB,
    private readonly sources: readonly StagedSource[],
    private readonly batchSize: number,
    /** Whatever parses the sources' byte ranges (npm run bench replays ranges parsed beforehand). */
    private readonly parsers: Pick<Parsers, 'size' | 'parse' | 'close'> = new Parsers(),
  ) {
    this.write = batchWriter(db);
    this.progress = readProgress(db);
    while (
      this.current < sources.length &&
      this.progress[this.current].nextLine > sources[this.current].lines
    )
      this.current++;
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
      this.index = this.rowAt = this.quarantineAt = 0;
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
    if (this.failed)
      throw new Error('a batch failed earlier: start a new run to resume from the last checkpoint');
    this.failed = true;
    const started = performance.now();
    const blocks: RowBlock[] = [];
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
        throw new Error(
          `source ${source.uri} ended before line ${source.lines}, its length when staged: ` +
            'was it changed during the run?',
        );
      }
      // The chunk's lines from `index`, while the batch has room. A full batch still takes the
      // blank and comment lines that follow it, so the last batch of the data ends the run;
      // the next record waits for the next batch.
      const chunk = this.chunk!;
      const { kinds, firstLine } = chunk;
      const p = pending(this.current);
      let rows = 0;
      const from = this.index;
      const last = Math.min(kinds.length, source.lines - firstLine + 1);
      let i = from;
      for (; i < last; i++) {
        const kind = kinds[i];
        if (kind === SKIP) {
          skipped++;
          p.skipped++;
        } else if (rowCount + rows + quarantined.length === this.batchSize) {
          break;
        } else if (kind === ROW) {
          rows++;
        } else {
          const q = this.quarantineAt++;
          const line = firstLine + i;
          quarantined.push({
            sourceNo: source.no,
            source: source.name,
            line,
            raw: chunk.raws[q],
            reason: chunk.reasons[q],
          });
          p.quarantined++;
        }
      }
      if (rows) {
        const [r, end] = [this.rowAt, (this.rowAt += rows)];
        const lineOffsets = chunk.rowLines.subarray(r, end);
        const values = chunk.values.subarray(r * SLOTS, end * SLOTS);
        blocks.push({ sourceNo: source.no, source: source.name, firstLine, lineOffsets, values });
        rowCount += rows;
        p.loaded += rows;
      }
      if (i > from) {
        this.index = i;
        p.nextLine = firstLine + i;
        p.nextOffset = chunk.ends[i - 1];
        if (p.nextLine > source.lines) await this.nextSource();
      }
      if (i < last) break; // the batch is full
    }
    const changes = [...touched.values()];
    const ms = performance.now() - started;
    const batch = this.write({ rows: blocks, rowCount, quarantined, skipped, progress: changes, ms });
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
