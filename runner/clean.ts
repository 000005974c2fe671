/**
 * Cleaning: pure. One parsed line in (its fields as csv-parse split them), one outcome out:
 * a typed row, a reason to quarantine it, or a reason to skip it. Never throws.
 */
import { COLUMNS, FORMAT, type Column } from './dataset.ts';

export type Value = number | string | null;
export type Outcome =
  | { kind: 'row'; values: Value[] }
  | { kind: 'quarantine'; reason: string }
  | { kind: 'skip'; reason: 'blank line' | 'comment line' };

const DIGITS = /^[+-]?\d+$/;
const domains = COLUMNS.map((c) => (c.kind === 'nominal' ? new Set(c.domain) : null));

/** Shortened for messages: a person reads the reason, the raw line is kept beside it. */
const show = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

function cleanField(column: Column, domain: Set<string> | null, text: string): Value | { reason: string } {
  let value = text.trim();
  if (value === FORMAT.missing) return null;
  if (column.kind === 'integer') {
    if (!DIGITS.test(value)) return { reason: `${column.name}: ${show(value)} is not an integer` };
    const n = Number(value);
    if (!Number.isSafeInteger(n)) return { reason: `${column.name}: ${show(value)} is too large` };
    if (n < column.min || n > column.max) return { reason: `${column.name}: ${n} is outside ${column.min}..${column.max}` };
    return n;
  }
  if (FORMAT.trailingDot.has(column.name) && value.endsWith('.')) value = value.slice(0, -1);
  if (!domain!.has(value)) return { reason: `${column.name}: ${show(value)} is not one of the values in Description` };
  return value;
}

export function cleanRecord(fields: readonly string[]): Outcome {
  if (fields.length === 1) {
    const only = fields[0].trim();
    if (only === '') return { kind: 'skip', reason: 'blank line' };
  }
  if (fields[0].startsWith(FORMAT.comment)) return { kind: 'skip', reason: 'comment line' };
  if (fields.length !== COLUMNS.length) {
    return { kind: 'quarantine', reason: `expected ${COLUMNS.length} fields separated by "${FORMAT.delimiter}", found ${fields.length}` };
  }
  const values: Value[] = new Array(COLUMNS.length);
  const reasons: string[] = [];
  for (let i = 0; i < COLUMNS.length; i++) {
    const v = cleanField(COLUMNS[i], domains[i], fields[i]);
    if (v !== null && typeof v === 'object') reasons.push(v.reason);
    else values[i] = v;
  }
  return reasons.length ? { kind: 'quarantine', reason: reasons.join('; ') } : { kind: 'row', values };
}
