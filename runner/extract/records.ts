/**
 * Where records begin and end: the one reading of a file's bytes that staging (which counts
 * and indexes them) and the parser threads (which parse them) share, so both always agree.
 * A record ends at a line end outside quotes; a quoted field may hold line ends. A record
 * longer than the limit ends at the first line end past the limit, quotes or not: one bad
 * quote never swallows the rest of a file, and no record costs more memory than the limit.
 */

const NEWLINE = 0x0a;
const SPACE = 0x20;

export type RecordSyntax = {
  /** The quote character's byte, or -1 when the dialect does not quote. */
  quote: number;
  /** The escape character's byte (it works inside quoted fields), or -1. */
  escape: number;
  /** A quote doubled inside a quoted field is one quote (doubleQuote, no escape character). */
  doubleQuote: boolean;
  /** The delimiter's bytes (UTF-8). */
  delimiter: Uint8Array;
  /** Spaces after a delimiter are skipped: a quote after them still opens a quoted field. */
  skipInitialSpace: boolean;
  /** Bytes a record may take; a longer one is read as far as a line end and quarantined. */
  maxBytes: number;
};

/** One record: bytes [start, end) of the file (its line end included), from physical line `line`. */
export type RecordSpan = { start: number; end: number; line: number; lines: number; overlong: boolean };

/**
 * A scanner over a file's bytes, fed in order in chunks of any size. It calls `onRecord` for
 * each record as soon as its end is seen, and `finish` gives the last one (without a line end).
 * A quote opens a quoted field only where a field starts (a record's start, after a delimiter,
 * or right after a closing quote when quotes are doubled); elsewhere it is text, as csv-parse's
 * relax_quotes and Python's csv read it. The escape character works inside quoted fields, as
 * in csv-parse: the byte after it is data, a line end included.
 */
export class RecordScanner {
  private inQuotes = false;
  private escaped = false;
  /** Whether a quote at the next byte to read would open a quoted field. */
  private openable = true;
  private start: number;
  private line: number;
  private linesInRecord = 0;
  /** The file offset after the last line end counted inside a record (quoted or escaped). */
  private lineEndInside = -1;
  /** The last bytes of the chunks before, to see a delimiter of several bytes cut by a chunk's edge. */
  private tail = new Uint8Array(0);

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
    this.scan(chunk, offset);
    const keep = this.syntax.delimiter.length - 1;
    if (keep > 0) {
      const joined = new Uint8Array(this.tail.length + chunk.length);
      joined.set(this.tail);
      joined.set(chunk, this.tail.length);
      this.tail = joined.slice(-keep);
    }
  }

  private scan(chunk: Uint8Array, offset: number): void {
    const { quote, escape, maxBytes } = this.syntax;
    let i = 0;
    const n = chunk.length;
    // The chunk's next quote at or after i, kept: searched again only once passed (-1: no more).
    // Searching at every line end scanned to the chunk's end per record where quotes are rare.
    let quoteAt = quote >= 0 ? -2 : -1;
    while (i < n) {
      if (this.escaped) {
        this.escaped = false;
        if (chunk[i] === NEWLINE) this.lineInside(offset + i + 1);
        this.openable = false;
        i++;
        continue;
      }
      if (!this.inQuotes) {
        // Outside quotes: jump to the next line end or quote.
        let stop = chunk.indexOf(NEWLINE, i);
        if (stop === -1) stop = n;
        if (quoteAt !== -1 && quoteAt < i) quoteAt = chunk.indexOf(quote, i);
        if (quoteAt !== -1 && quoteAt < stop) stop = quoteAt;
        if (stop === n) {
          this.openable = this.opensAt(chunk, i, n);
          return;
        }
        if (chunk[stop] === NEWLINE) {
          this.end(offset + stop + 1);
        } else {
          this.inQuotes = this.opensAt(chunk, i, stop);
          this.openable = false;
        }
        i = stop + 1;
        continue;
      }
      // Inside quotes: a quote closes (a doubled one reopens at once), a line end stays inside
      // unless the record is past its limit.
      const b = chunk[i];
      if (b === escape && escape !== quote) {
        this.escaped = true;
      } else if (b === quote) {
        this.inQuotes = false;
        // A doubled quote: this one closes, the next reopens at once.
        this.openable = this.syntax.doubleQuote;
      } else if (b === NEWLINE) {
        if (offset + i + 1 - this.start > maxBytes) this.end(offset + i + 1);
        else this.lineInside(offset + i + 1);
      }
      i++;
    }
  }

  /**
   * Whether a quote at chunk[q] would open a quoted field, given the bytes from `from` (where
   * `openable` held): right after a delimiter (and spaces, with skipInitialSpace), or with only
   * those spaces since `from`, as `openable` says.
   */
  private opensAt(chunk: Uint8Array, from: number, q: number): boolean {
    let k = q;
    if (this.syntax.skipInitialSpace) while (k > from && chunk[k - 1] === SPACE) k--;
    if (k === from) return this.openable;
    const d = this.syntax.delimiter;
    for (let j = 1; j <= d.length; j++) {
      const at = k - j;
      if ((at >= 0 ? chunk[at] : this.tail[this.tail.length + at]) !== d[d.length - j]) return false;
    }
    return true;
  }

  private lineInside(after: number) {
    this.linesInRecord++;
    this.lineEndInside = after;
  }

  /** The record ends at `at`; its last line end, when `at` follows one counted inside it, is that one. */
  private end(at: number) {
    const lines = this.linesInRecord + (this.lineEndInside === at ? 0 : 1);
    const overlong = at - this.start > this.syntax.maxBytes;
    this.onRecord({ start: this.start, end: at, line: this.line, lines, overlong });
    this.line += lines;
    this.start = at;
    this.linesInRecord = 0;
    this.inQuotes = false;
    this.escaped = false;
    this.openable = true;
  }

  /** The file ends at `at`: its last record, if it has no line end. */
  finish(at: number): void {
    if (at > this.start) this.end(at);
  }
}
