/**
 * Where records begin and end: the one reading of a file's bytes that staging (which counts
 * and indexes them) and the parser threads (which parse them) share, so both always agree.
 * A record ends at a line end outside quotes; a quoted field may hold line ends. A record
 * longer than the limit ends at the first line end past the limit, quotes or not: one bad
 * quote never swallows the rest of a file, and no record costs more memory than the limit.
 */

const NEWLINE = 0x0a;

export type RecordSyntax = {
  /** The quote character's byte, or -1 when the dialect does not quote. */
  quote: number;
  /** The escape character's byte, or -1. */
  escape: number;
  /** Bytes a record may take; a longer one is read as far as a line end and quarantined. */
  maxBytes: number;
};

/** One record: bytes [start, end) of the file (its line end included), from physical line `line`. */
export type RecordSpan = { start: number; end: number; line: number; lines: number; overlong: boolean };

/**
 * A scanner over a file's bytes, fed in order in chunks of any size. It calls `onRecord` for
 * each record as soon as its end is seen, and `finish` gives the last one (without a line end).
 */
export class RecordScanner {
  private inQuotes = false;
  private escaped = false;
  private start: number;
  private line: number;
  private linesInRecord = 0;

  constructor(
    private readonly syntax: RecordSyntax,
    private readonly onRecord: (r: RecordSpan) => void,
    /** Where the first record starts (after a byte order mark, or at a checkpoint) and its line. */
    at = 0,
    line = 1,
  ) {
    this.start = at;
    this.line = line;
  }

  /** Bytes `chunk`, which start at file offset `offset` (right after the previous chunk). */
  push(chunk: Uint8Array, offset: number): void {
    const { quote, escape, maxBytes } = this.syntax;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.inQuotes || this.escaped || quote < 0) {
        // Outside quotes: jump to the next line end or quote.
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        let nl = chunk.indexOf(NEWLINE, i);
        if (nl === -1) nl = n;
        let stop = nl;
        if (quote >= 0) {
          const qAt = chunk.indexOf(quote, i);
          if (qAt !== -1 && qAt < stop) stop = qAt;
        }
        if (escape >= 0) {
          const eAt = chunk.indexOf(escape, i);
          if (eAt !== -1 && eAt < stop) stop = eAt;
        }
        if (stop === n) return;
        const b = chunk[stop];
        if (b === NEWLINE) {
          this.end(offset + stop + 1);
        } else if (b === quote) {
          this.inQuotes = true;
        } else {
          this.escaped = true;
        }
        i = stop + 1;
        continue;
      }
      // Inside quotes: a quote closes (a doubled one reopens at once), a line end stays inside
      // unless the record is past its limit.
      const b = chunk[i];
      if (b === escape && escape !== quote) {
        i += 2;
        if (i > n) this.escaped = true;
        continue;
      }
      if (b === quote) this.inQuotes = false;
      else if (b === NEWLINE) {
        if (offset + i + 1 - this.start > maxBytes) this.end(offset + i + 1);
        else this.linesInRecord++;
      }
      i++;
    }
  }

  private end(at: number) {
    const lines = this.linesInRecord + 1;
    const overlong = at - this.start > this.syntax.maxBytes;
    this.onRecord({ start: this.start, end: at, line: this.line, lines, overlong });
    this.line += lines;
    this.start = at;
    this.linesInRecord = 0;
    this.inQuotes = false;
    this.escaped = false;
  }

  /** The file ends at `at`: its last record, if it has no line end. */
  finish(at: number): void {
    if (at > this.start) this.end(at);
  }
}
