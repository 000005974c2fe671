/**
 * The row layout of table `adult`, owned here: the rowid, the 15 attributes, then the lineage
 * (source, line). Parser threads encode a cleaned row as a few numbers (`encodeRow`), the
 * loader gathers them into blocks without building a JS value per attribute, and the store's
 * INSERT turns them back into the row inside SQLite (`rowInserter`).
 *
 * Why numbers: better-sqlite3 binds each parameter through several N-API calls, a string
 * also through two UTF-8 copies, and that binding was most of the insert thread's time. So
 * every column with few possible values (the nominal ones, and integers of a small range) is
 * one digit of a single mixed-radix number, and the INSERT takes the digits apart with integer
 * arithmetic and maps each code back to its text with a CASE: 5 parameters a row instead of 18.
 * The table's STRICT types and domain CHECKs still judge every value SQLite stores.
 */
import type { Value } from '../extract/clean.ts';
import { COLUMNS, LINEAGE, type Column } from '../dataset/adult.ts';
import { q, sqlString } from './sql.ts';
import type { DB } from '../store/store.ts';

/**
 * A record's rowid is its place in the sources (source number, line), so a record loaded
 * twice breaks the primary key instead of being duplicated.
 */
export const rowid = (sourceNo: number, line: number) => sourceNo * 2 ** 32 + line;

/**
 * Where a column travels. A digit of slot 0 (`place` is its weight, `radix` its count of
 * codes: 0 is NULL, then the domain's values or the range's integers in order); or a slot
 * of its own, holding the integer itself (NaN for NULL).
 */
type Place = { column: Column; slot: 0; place: number; radix: number } | { column: Column; slot: number };

/** Slot 0 stays an exact integer in a double, and in SQLite's 64-bit INTEGER. */
const CAPACITY = 2 ** 53;

const PLACES: Place[] = [];
let packed = 1;
let slots = 1;
for (const column of COLUMNS) {
  const radix = 1 + (column.kind === 'nominal' ? column.domain.length : column.max - column.min + 1);
  if (packed * radix <= CAPACITY) {
    PLACES.push({ column, slot: 0, place: packed, radix });
    packed *= radix;
  } else {
    PLACES.push({ column, slot: slots++ });
  }
}

/** Numbers per encoded row. */
export const SLOTS = slots;

const INDEX = COLUMNS.map((c) => (c.kind === 'nominal' ? new Map(c.domain.map((v, i) => [v, i])) : null));
const MIN = COLUMNS.map((c) => (c.kind === 'integer' ? c.min : 0));

/**
 * Writes a row given as codes into `out` from `at` (SLOTS numbers). A code is, per column, the
 * integer itself or the index of the value in the column's domain; NaN is NULL.
 */
export function encodeCodes(codes: ArrayLike<number>, out: Float64Array, at: number): void {
  let digits = 0;
  for (let i = 0; i < PLACES.length; i++) {
    const p = PLACES[i];
    const code = codes[i];
    if ('place' in p) {
      if (code === code) digits += (code - MIN[i] + 1) * p.place; // code === code: not NaN
    } else {
      out[at + p.slot] = code;
    }
  }
  out[at] = digits;
}

const codes = new Float64Array(COLUMNS.length);

/** Writes a cleaned row into `out` from `at` (SLOTS numbers). */
export function encodeRow(values: readonly Value[], out: Float64Array, at: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    codes[i] = v === null ? NaN : typeof v === 'string' ? INDEX[i]!.get(v)! : v;
  }
  encodeCodes(codes, out, at);
}

/**
 * Rows of one source in one batch, as the parser thread sent them (views, not copies): row r
 * is line `firstLine + lineOffsets[r]`, and its SLOTS numbers start at `values[r * SLOTS]`.
 */
export type RowBlock = {
  sourceNo: number;
  source: string;
  firstLine: number;
  lineOffsets: Uint32Array;
  values: Float64Array;
};

/** SQL giving a column's value back from the bound numbers (`column1` is the line). */
function columnSql(p: Place): string {
  const slot = `column${p.slot + 2}`;
  if (!('place' in p)) return slot;
  // Integer arithmetic only: slot 0 is bound as a double and cast once (see rowsSql).
  const top = p.place * p.radix === packed;
  const digit = top ? `${slot} / ${p.place}` : `${slot} % ${p.place * p.radix} / ${p.place}`;
  const c = p.column;
  if (c.kind === 'integer') return `nullif(${digit}, 0) + ${c.min - 1}`;
  return `CASE ${digit} ${c.domain.map((v, i) => `WHEN ${i + 1} THEN ${sqlString(v)}`).join(' ')} END`;
}

/** The INSERT of `rows` rows of one source: its number and name are literals of the statement. */
function insertSql(sourceNo: number, source: string, rows: number): string {
  const columns = ['rowid', ...COLUMNS.map((c) => q(c.name)), ...LINEAGE.map(q)].join(', ');
  const row = `(?, CAST(? AS INTEGER)${', ?'.repeat(SLOTS - 1)})`;
  const values = PLACES.map(columnSql).join(', ');
  const select = `${rowid(sourceNo, 0)} + column1, ${values}, ${sqlString(source)}, column1`;
  return `INSERT INTO adult (${columns}) SELECT ${select} FROM (VALUES ${Array(rows).fill(row).join(', ')})`;
}

/** Parameters bound per row: the line, then the slots. */
const BOUND = 1 + SLOTS;
/** Rows per INSERT statement: fewer statement executions, well under SQLite's 32,766 parameters. */
const ROWS_PER_INSERT = 50;

/** Prepares the inserts of row blocks into `adult`; the returned function runs them. */
export function rowInserter(db: DB): (blocks: readonly RowBlock[]) => void {
  const statements = new Map<string, ReturnType<DB['prepare']>>();
  const statement = (block: RowBlock, rows: number) => {
    const key = `${rows} ${block.source}`;
    let s = statements.get(key);
    if (!s) statements.set(key, (s = db.prepare(insertSql(block.sourceNo, block.source, rows))));
    return s;
  };
  const params = new Array<number | null>(ROWS_PER_INSERT * BOUND);
  return (blocks) => {
    // Rows of consecutive blocks of one source share statements; a last, shorter group has
    // a statement of its own size (one per batch size, in practice).
    let at = 0;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[b];
      const { firstLine, lineOffsets, values } = block;
      for (let r = 0; r < lineOffsets.length; r++) {
        params[at++] = firstLine + lineOffsets[r];
        for (let s = 0, i = r * SLOTS; s < SLOTS; s++, i++) {
          const x = values[i];
          params[at++] = x === x ? x : null; // NaN is NULL
        }
        if (at === params.length) {
          statement(block, ROWS_PER_INSERT).run(params);
          at = 0;
        }
      }
      if (at > 0 && blocks[b + 1]?.source !== block.source) {
        statement(block, at / BOUND).run(params.slice(0, at));
        at = 0;
      }
    }
  };
}
