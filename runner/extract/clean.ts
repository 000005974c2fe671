/**
 * Cleaning: pure. One parsed line in (its fields as csv-parse split them), one outcome out:
 * a typed row, a reason to quarantine it, or a reason to skip it. Never throws.
 */
import { COLUMNS, FORMAT, type Column } from '../dataset/adult.ts';

export type Value = number | string | null;
export type Outcome =
  | { kind: 'row'; values: Value[] }
  | { kind: 'quarantine'; reason: string }
  | { kind: 'skip'; reason: 'blank line' | 'comment line' };

// Per column, looked up once here rather than per field: the parser threads clean every line.
/** A nominal column's values, each to itself: a row holds the domain's own strings. */
const domains = COLUMNS.map((c) => (c.kind === 'nominal' ? new Map(c.domain.map((v) => [v, v])) : null));
const trailingDot = COLUMNS.map((c) => FORMAT.trailingDot.has(c.name));

/** Shortened for messages: a person reads the reason, the raw line is kept beside it. */
const show = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

const PLUS = 43;
const MINUS = 45;
const ZERO = 48;

/** The integer a text of ASCII digits (and an optional sign) writes, or NaN for any other text. */
function integer(text: string): number {
  let i = 0;
  const first = text.charCodeAt(0);
  if (first === PLUS || first === MINUS) i = 1;
  if (i === text.length) return NaN;
  let n = 0;
  for (; i < text.length; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return NaN;
    n = n * 10 + digit;
  }
  // Past 2^53 the sum is rounded, but stays past it: "too large" below either way.
  return first === MINUS ? -n : n;
}

function cleanField(column: Column, i: number, text: string): Value | { reason: string } {
  let value = text.trim();
  if (value === FORMAT.missing) return null;
  if (column.kind === 'integer') {
    const n = integer(value);
    if (Number.isNaN(n)) return { reason: `${column.name}: ${show(value)} is not an integer` };
    if (!Number.isSafeInteger(n)) return { reason: `${column.name}: ${show(value)} is too large` };
    if (n < column.min || n > column.max) {
      return { reason: `${column.name}: ${n} is outside ${column.min}..${column.max}` };
    }
    return n;
  }
  if (trailingDot[i] && value.endsWith('.')) value = value.slice(0, -1);
  const known = domains[i]!.get(value);
  return known ?? { reason: `${column.name}: ${show(value)} is not one of the values in Description` };
}

export function cleanRecord(fields: readonly string[]): Outcome {
  if (fields.length === 1) {
    const only = fields[0].trim();
    if (only === '') return { kind: 'skip', reason: 'blank line' };
  }
  if (fields[0].startsWith(FORMAT.comment)) return { kind: 'skip', reason: 'comment line' };
  if (fields.length !== COLUMNS.length) {
    const expected = `${COLUMNS.length} fields separated by "${FORMAT.delimiter}"`;
    return { kind: 'quarantine', reason: `expected ${expected}, found ${fields.length}` };
  }
  const values: Value[] = new Array(COLUMNS.length);
  let reasons: string[] | null = null;
  for (let i = 0; i < COLUMNS.length; i++) {
    const v = cleanField(COLUMNS[i], i, fields[i]);
    if (v !== null && typeof v === 'object') (reasons ??= []).push(v.reason);
    else values[i] = v;
  }
  return reasons ? { kind: 'quarantine', reason: reasons.join('; ') } : { kind: 'row', values };
}
