/**
 * Loading: pulls lines from the sources in order, cleans them, and gathers them into
 * batches of exactly `batchSize` records (loaded or quarantined; skipped lines ride along),
 * each committed with its checkpoint. One `Loader.next()` is one batch.
 */
import { cleanRecord } from './clean.ts';
import { readLines, rawLine, type LineChunk, type StagedSource } from './sources.ts';
import { batchWriter, readProgress, type Batch, type DB, type Quarantined, type Row, type SourceProgress } from './store.ts';

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
  private index = 0;

  constructor(
    db: DB,
    private readonly sources: readonly StagedSource[],
    private readonly batchSize: number,
  ) {
    this.write = batchWriter(db);
    this.progress = readProgress(db);
    while (this.current < sources.length && this.isExhausted(this.current)) this.current++;
  }

  private isExhausted(no: number) {
    return this.progress[no].nextLine > this.sources[no].lines;
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

  /** The next line of the current source, or null when that source is exhausted. */
  private async nextLine(): Promise<{ chunk: LineChunk; i: number } | null> {
    while (!this.chunk || this.index >= this.chunk.fields.length) {
      if (!this.lines) {
        const p = this.progress[this.current];
        this.lines = readLines(this.sources[this.current], p.nextOffset, p.nextLine);
      }
      const step = await this.lines.next();
      if (step.done) {
        this.lines = null;
        this.chunk = null;
        return null;
      }
      this.chunk = step.value;
      this.index = 0;
    }
    return { chunk: this.chunk, i: this.index++ };
  }

  private async nextSource() {
    await this.lines?.return(undefined);
    this.lines = null;
    this.chunk = null;
    this.current++;
  }

  /** Reads, cleans and commits one batch. */
  async next(): Promise<BatchResult> {
    const started = performance.now();
    const rows: Row[] = [];
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
      const next = await this.nextLine();
      if (!next) {
        throw new Error(`source ${source.uri} ended before line ${source.lines}, its length when staged: was it changed during the run?`);
      }
      const { chunk, i } = next;
      const outcome = cleanRecord(chunk.fields[i]);
      if (outcome.kind !== 'skip' && rows.length + quarantined.length === this.batchSize) {
        // A full batch still takes the blank and comment lines that follow it, so the
        // last batch of the data ends the run; the next record waits for the next batch.
        this.index--;
        break;
      }
      const p = pending(this.current);
      const line = chunk.firstLine + i;
      if (outcome.kind === 'row') {
        rows.push({ values: outcome.values, source: source.name, line, sourceNo: source.no });
        p.loaded++;
      } else if (outcome.kind === 'quarantine') {
        quarantined.push({ source: source.name, line, raw: rawLine(chunk, i), reason: outcome.reason });
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
    const ms = performance.now() - started;
    const batch = this.write({ rows, quarantined, skipped, progress: changes, ms });
    for (const p of changes) this.progress[p.no] = p;
    return {
      batch,
      loaded: rows.length,
      quarantined: quarantined.length,
      skipped,
      ms: performance.now() - started,
      linesDone: this.linesDone,
      done: this.done,
    };
  }
}
