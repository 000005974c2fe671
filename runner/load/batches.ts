/**
 * Loading: pulls parsed records from the sources in order and gathers them into batches of
 * exactly `batchSize` records (loaded or quarantined; skipped ones ride along), each committed
 * with its checkpoint. One `Loader.next()` is one batch.
 */
import type { Value } from '../dataset/model.ts';
import { QUARANTINE, ROW, SKIP } from '../extract/parse.ts';
import { Parsers, parsedRanges, type RecordChunk } from '../extract/parsers.ts';
import { assertUnchanged, type StagedSource } from '../extract/sources.ts';
import type { Quarantined, RowBlock, SourceProgress, Store } from '../store/store.ts';

export type BatchResult = {
  batch: number;
  loaded: number;
  quarantined: number;
  skipped: number;
  ms: number;
  /** Records accounted for so far, all sources. */
  recordsDone: number;
  done: boolean;
};

/** Too much of a source quarantined: the batch is not committed, the run fails saying why. */
export class QuarantineShareError extends Error {}

export type LoaderOptions = {
  batchSize: number;
  /** The share of a source's records that may be quarantined before the run stops. */
  maxQuarantinedShare: number;
  /** Whatever parses the sources' byte ranges (npm run bench replays ranges parsed beforehand). */
  parsers: Pick<Parsers, 'size' | 'parse' | 'close'>;
};

/**
 * Records of a source read before its share is judged: a few bad records early on are no trend,
 * and a smaller file's quarantine stays small whatever it holds.
 */
const SHARE_AFTER = 1000;

export class Loader {
  private progress: SourceProgress[] = [];
  private current = 0;
  private chunks: AsyncGenerator<RecordChunk> | null = null;
  private chunk: RecordChunk | null = null;
  /** Position in `chunk`: the next record, and the index of its next row and quarantine entry. */
  private index = 0;
  private rowAt = 0;
  private quarantineAt = 0;
  /** Set when a batch failed: the read position has moved past records that were not committed. */
  private failed = false;

  private constructor(
    private readonly store: Store,
    private readonly sources: readonly StagedSource[],
    private readonly o: LoaderOptions,
  ) {}

  static async open(store: Store, sources: readonly StagedSource[], o: LoaderOptions): Promise<Loader> {
    const loader = new Loader(store, sources, o);
    loader.progress = await store.readProgress();
    loader.skipDone();
    return loader;
  }

  private readAll = (no: number) => {
    const p = this.progress[no];
    return p.loaded + p.quarantined + p.skipped;
  };

  private skipDone() {
    while (
      this.current < this.sources.length &&
      this.readAll(this.current) >= this.sources[this.current].records
    )
      this.current++;
  }

  get recordsTotal() {
    return this.sources.reduce((n, s) => n + s.records, 0);
  }

  get recordsDone() {
    return this.progress.reduce((n, _, i) => n + this.readAll(i), 0);
  }

  get done() {
    return this.current >= this.sources.length;
  }

  close(): Promise<void> {
    return this.o.parsers.close();
  }

  /** Makes `chunk`/`index` point at the next record of the current source; false at its end. */
  private async advance(): Promise<boolean> {
    while (!this.chunk || this.index >= this.chunk.ends.length) {
      if (!this.chunks) {
        const p = this.progress[this.current];
        this.chunks = parsedRanges(this.o.parsers, this.sources[this.current], p.nextOffset, p.nextLine);
      }
      const step = await this.chunks.next();
      if (step.done) {
        this.chunks = null;
        this.chunk = null;
        return false;
      }
      this.chunk = step.value;
      this.index = this.rowAt = this.quarantineAt = 0;
    }
    return true;
  }

  private async nextSource() {
    await this.chunks?.return(undefined);
    this.chunks = null;
    this.chunk = null;
    this.current++;
  }

  /** Stops the run when a source's quarantined share passes the limit. */
  private checkShare(source: StagedSource, p: SourceProgress, batch: readonly Quarantined[]) {
    const read = p.loaded + p.quarantined + p.skipped;
    if (read < SHARE_AFTER) return;
    const share = p.quarantined / Math.max(1, p.loaded + p.quarantined);
    if (share <= this.o.maxQuarantinedShare) return;
    const example = batch.find((q) => q.sourceNo === source.no);
    throw new QuarantineShareError(
      `source ${source.uri}: ${p.quarantined} of ${p.loaded + p.quarantined} records quarantined ` +
        `(${(share * 100).toFixed(1)}%, more than maxQuarantinedShare ${this.o.maxQuarantinedShare}); ` +
        `${example ? `line ${example.line}: ${example.reason}; ` : ''}` +
        'is it the right file and descriptor? Nothing of this batch was committed',
    );
  }

  /** Reads and commits one batch. */
  async next(): Promise<BatchResult> {
    if (this.failed)
      throw new Error('a batch failed earlier: start a new run to resume from the last checkpoint');
    this.failed = true;
    const started = performance.now();
    const rows: RowBlock[] = [];
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
        assertUnchanged(source); // the likely cause, said precisely
        throw new Error(
          `source ${source.uri} ended before record ${source.records}, its count when staged: ` +
            'was it changed during the run?',
        );
      }
      // The chunk's records from `index`, while the batch has room. A full batch still takes the
      // skipped records that follow it, so the last batch of the data ends the run.
      const chunk = this.chunk!;
      const { kinds } = chunk;
      const p = pending(this.current);
      const lines: number[] = [];
      const from = this.index;
      const left = source.records - (p.loaded + p.quarantined + p.skipped);
      const last = Math.min(kinds.length, from + left);
      let i = from;
      let rowsHere = 0;
      for (; i < last; i++) {
        const kind = kinds[i];
        if (kind === SKIP) {
          skipped++;
          p.skipped++;
        } else if (rowCount + rowsHere + quarantined.length === this.o.batchSize) {
          break;
        } else if (kind === ROW) {
          rowsHere++;
          lines.push(chunk.lines[i]);
        } else {
          const q = this.quarantineAt++;
          quarantined.push({
            sourceNo: source.no,
            source: source.name,
            line: chunk.lines[i],
            raw: chunk.raws[q],
            reason: chunk.reasons[q],
          });
          p.quarantined++;
        }
      }
      if (rowsHere) {
        const [r, end] = [this.rowAt, (this.rowAt += rowsHere)];
        const values: Value[] = chunk.values.slice(r * chunk.width, end * chunk.width);
        const packed = chunk.packed.subarray(r, end);
        rows.push({
          table: source.resource,
          sourceNo: source.no,
          source: source.name,
          lines,
          packed,
          values,
        });
        rowCount += rowsHere;
        p.loaded += rowsHere;
      }
      if (i > from) {
        this.index = i;
        p.nextLine = i < kinds.length ? chunk.lines[i] : chunk.nextLine;
        p.nextOffset = chunk.ends[i - 1];
        this.checkShare(source, p, quarantined);
        if (p.loaded + p.quarantined + p.skipped >= source.records) await this.nextSource();
      }
      if (i < last) break; // the batch is full
    }
    // What commits must be what the recorded checksums say: no source rewritten since staging.
    for (const no of touched.keys()) assertUnchanged(this.sources[no]);
    const ms = performance.now() - started;
    const committed = await this.store.writeBatch({
      rows,
      quarantined,
      skipped,
      progress: [...touched.values()],
      ms,
    });
    for (const p of committed.progress) this.progress[p.no] = p;
    this.failed = false;
    return {
      batch: committed.batch,
      loaded: committed.loaded,
      quarantined: committed.quarantined,
      skipped,
      ms: performance.now() - started,
      recordsDone: this.recordsDone,
      done: this.done,
    };
  }
}
