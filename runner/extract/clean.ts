/**
 * Cleaning: pure. One record's fields (as the CSV reader split them) and its table in, one
 * outcome out: the typed values, or the reason to quarantine the record, naming each field at
 * fault, its value and the rule it breaks. Never throws.
 */
import type { Field, Table, Value } from '../dataset/model.ts';
import { coder, packingOf } from '../dataset/packing.ts';
import { brokenConstraint, castText, isInvalid, patternRegExp, show } from '../dataset/types.ts';

export type Outcome = { kind: 'row'; values: Value[] } | { kind: 'quarantine'; reason: string };

/** A table's fields with what cleaning needs looked up once: the parser threads clean every record. */
export type Cleaner = (fields: readonly string[], into: Value[], at: number) => string | null;

/** A field's value from its text when it is a plain valid one, else undefined: the full check decides. */
export type FastCast = (text: string) => Value | undefined;

/** A digit string short enough to be exact in a double. */
const PLAIN_INTEGER = /^[+-]?\d{1,15}$/;

/**
 * The fast path derived from a field's schema, for the values nearly every record holds: an
 * enum's member, a text with no constraint, an integer written plainly within its bounds. It
 * gives what castText and brokenConstraint give for those texts, and undefined for any other
 * (a property test holds it to that); null when the field has no fast path.
 */
export function fastCastFor(f: Field): FastCast | null {
  const lengths = f.minLength !== null || f.maxLength !== null;
  const bounds = [f.minimum, f.maximum, f.exclusiveMinimum, f.exclusiveMaximum];
  if (f.pattern !== null) return null;
  if (f.type === 'string' && f.format === 'default' && !lengths && bounds.every((b) => b === null)) {
    if (!f.enum) return (text) => (text.includes('\0') ? undefined : text);
    const members = new Set(f.enum);
    return (text) => (members.has(text) ? text : undefined);
  }
  if (f.type === 'integer' && f.enum === null && f.bareNumber && f.groupChar === null) {
    const [lo, hi, above, below] = bounds.map((b) => (typeof b === 'number' ? b : null));
    return (text) => {
      if (!PLAIN_INTEGER.test(text)) return undefined;
      const n = Number(text) || 0; // "-0" is 0
      if ((lo !== null && n < lo) || (hi !== null && n > hi)) return undefined;
      if ((above !== null && n <= above) || (below !== null && n >= below)) return undefined;
      return n;
    };
  }
  return null;
}

/** A field's value from its text, or why not: the reason names the field, the value and the rule. */
type FieldCleaner = (text: string) => Value | { reason: string };
const isReason = (v: Value | { reason: string }): v is { reason: string } =>
  v !== null && typeof v === 'object';

/** Cleans one field's text: pure, so its outcome for a text can be kept and reused. */
function fieldCleanerFor(field: Field): FieldCleaner {
  const pattern = field.pattern ? patternRegExp(field.pattern) : null;
  const missing = new Set(field.missingValues);
  const fast = fastCastFor(field);
  return (cell) => {
    if (missing.has(cell))
      return field.required ? { reason: `${field.name}: missing (${show(cell)}), but required` } : null;
    const text =
      field.dropSuffix && cell.endsWith(field.dropSuffix) ? cell.slice(0, -field.dropSuffix.length) : cell;
    const plain = fast?.(text);
    if (plain !== undefined) return plain;
    const value = castText(field, text);
    if (isInvalid(value)) return { reason: `${field.name}: ${show(text)} ${value.invalid}` };
    const broken = brokenConstraint(field, value, text, pattern);
    return broken ? { reason: `${field.name}: ${broken}` } : value;
  };
}

const countMismatch = (table: Table, found: number) => {
  const delimiter = JSON.stringify(table.dialect.delimiter);
  return `expected ${table.fields.length} fields separated by ${delimiter}, found ${found}`;
};

/**
 * Cleans records of `table`: writes a record's values into `into` from `at` and returns null,
 * or returns the reason it is quarantined.
 */
export function cleanerFor(table: Table): Cleaner {
  const fields = table.fields.map(fieldCleanerFor);
  return (cells, into, at) => {
    if (cells.length !== fields.length) return countMismatch(table, cells.length);
    let reasons: string[] | null = null;
    for (let i = 0; i < fields.length; i++) {
      const value = fields[i](cells[i]);
      if (isReason(value)) (reasons ??= []).push(value.reason);
      else into[at + i] = value;
    }
    return reasons ? reasons.join('; ') : null;
  };
}

/** Texts kept per packed field with their code: enough for any enum, bounded for a wide range. */
const KEPT_CODES = 1024;

/**
 * Cleans and packs records of `table` in one pass (the parser threads' path): pushes a record's
 * loose values onto `loose` and returns its packed number, or returns the reason it is
 * quarantined (pushing nothing). A packed field's code is kept per text the first time it is
 * cleaned: cleaning a field is pure, so the next same text has the same code without cleaning
 * or looking its value up again (Adult: 12 fields of 15, a few dozen texts each).
 */
export function packingCleanerFor(
  table: Table,
): (cells: readonly string[], loose: Value[]) => number | string {
  const packing = packingOf(table);
  const fields = table.fields.map(fieldCleanerFor);
  const digits = table.fields.map((_, i) => packing.digits.find((d) => d.field === i) ?? null);
  const codeOf = digits.map((d) => (d ? coder(d) : null));
  const kept = digits.map(() => new Map<string, number>());
  return (cells, loose) => {
    if (cells.length !== fields.length) return countMismatch(table, cells.length);
    const looseAt = loose.length;
    let packed = 0;
    let reasons: string[] | null = null;
    for (let i = 0; i < fields.length; i++) {
      const text = cells[i];
      const d = digits[i];
      let code = d ? kept[i].get(text) : undefined;
      if (code !== undefined) {
        packed += code * d!.place;
        continue;
      }
      const value = fields[i](text);
      if (isReason(value)) {
        (reasons ??= []).push(value.reason);
      } else if (d) {
        code = codeOf[i]!(value);
        if (kept[i].size < KEPT_CODES) kept[i].set(text, code);
        packed += code * d.place;
      } else {
        loose.push(value);
      }
    }
    if (!reasons) return packed;
    loose.length = looseAt;
    return reasons.join('; ');
  };
}
