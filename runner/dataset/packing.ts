/**
 * A row as few values, derived from the table's schema: every field with few possible values
 * (an enum, a boolean, an integer between a small minimum and maximum) is one digit of a single
 * mixed-radix number, the packed number; the other fields travel as their values, the loose ones.
 *
 * Why: better-sqlite3 binds each parameter through several N-API calls (a string through two
 * UTF-8 copies), and copying a row's values from a parser thread costs per value too; both were
 * most of the inserting thread's time. The SQLite store's INSERT takes the digits apart inside
 * SQLite; the table's types and CHECKs still judge every value stored.
 */
import type { Field, Table, Value } from './model.ts';

/** A packed field: its digit's weight and count of codes (0 is NULL, code c the value c). */
export type Digit = {
  field: number;
  place: number;
  radix: number;
  /** The field's values by code - 1; or, for an integer range, null and the range's minimum. */
  values: readonly Value[] | null;
  min: number;
};

export type Packing = {
  digits: readonly Digit[];
  /** The fields that travel as values, by index, in field order. */
  loose: readonly number[];
  /** The product of the radixes: the packed number is below it. */
  top: number;
};

/** The packed number stays an exact integer in a double, and in a 64-bit INTEGER. */
const CAPACITY = 2 ** 53;
/** The longest enum packed (Adult's longest has 41 values). */
export const MAX_ENUM = 255;

/** The codes a field can have (besides NULL): its values, or its integer range; null: too many. */
function codesOf(f: Field): Pick<Digit, 'values' | 'min' | 'radix'> | null {
  // SQLite takes a digit back to its value with a CASE, a branch per value: long enums travel loose.
  if (f.enum) return f.enum.length <= MAX_ENUM ? { values: f.enum, min: 0, radix: f.enum.length + 1 } : null;
  if (f.type === 'boolean') return { values: [false, true], min: 0, radix: 3 };
  const integral = f.type === 'integer' || f.type === 'year';
  const [lo, hi] = [f.minimum, f.maximum];
  // A minimum above the maximum admits no value (each is quarantined): nothing to pack.
  if (!integral || typeof lo !== 'number' || typeof hi !== 'number' || lo > hi) return null;
  const radix = hi - lo + 2;
  return Number.isSafeInteger(radix) ? { values: null, min: lo, radix } : null;
}

const packings = new WeakMap<Pick<Table, 'fields'>, Packing>();

/** The packing of a table's rows: fields packed in field order while the number has room. */
export function packingOf(table: Pick<Table, 'fields'>): Packing {
  let known = packings.get(table);
  if (!known) packings.set(table, (known = packingFor(table.fields)));
  return known;
}

function packingFor(fields: readonly Field[]): Packing {
  const digits: Digit[] = [];
  const loose: number[] = [];
  let top = 1;
  fields.forEach((f, field) => {
    const codes = codesOf(f);
    if (codes && top * codes.radix <= CAPACITY) {
      digits.push({ field, place: top, ...codes });
      top *= codes.radix;
    } else {
      loose.push(field);
    }
  });
  return { digits, loose, top };
}

/** A packed field's code for each of its values (0 for NULL); a value without one is a bug, said loudly. */
export function coder(d: Digit): (v: Value) => number {
  const codes = d.values ? new Map(d.values.map((v, i) => [v, i + 1])) : null;
  return (v) => {
    if (v === null) return 0;
    const code = codes ? codes.get(v) : (v as number) - d.min + 1;
    // The cleaner let only the field's values through: anything else is a bug.
    if (!(code! >= 1 && code! < d.radix)) throw new Error(`field ${d.field + 1}: ${v} has no code`);
    return code!;
  };
}

/** Writes rows as packed numbers and loose values; a packing's codes are looked up once. */
export function packer(p: Packing): (row: readonly Value[], at: number, loose: Value[]) => number {
  const codes = p.digits.map(coder);
  return (row, at, loose) => {
    let packed = 0;
    for (let k = 0; k < p.digits.length; k++)
      packed += codes[k](row[at + p.digits[k].field]) * p.digits[k].place;
    for (const i of p.loose) loose.push(row[at + i]);
    return packed;
  };
}

/** Rows as packed numbers and loose values, `loose.length` a row, as parsed and as stored. */
export type PackedRows = { packed: ArrayLike<number>; values: readonly Value[] };

/** Row `r` of packed rows of `table`: its values in field order. */
export function rowAt(table: Pick<Table, 'fields'>, rows: PackedRows, r: number): Value[] {
  const p = packingOf(table);
  const row = new Array<Value>(table.fields.length);
  const packed = rows.packed[r];
  for (const d of p.digits) {
    const code = Math.floor(packed / d.place) % d.radix;
    row[d.field] = code === 0 ? null : d.values ? d.values[code - 1] : d.min + code - 1;
  }
  p.loose.forEach((field, k) => (row[field] = rows.values[r * p.loose.length + k]));
  return row;
}

/** Whole rows packed, as a RowBlock holds them (for rows made outside the parser threads). */
export function packRows(table: Pick<Table, 'fields'>, rows: readonly (readonly Value[])[]) {
  const pack = packer(packingOf(table));
  const values: Value[] = [];
  return { packed: rows.map((row) => pack(row, 0, values)), values };
}
