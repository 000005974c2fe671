/**
 * Cleaning: pure. One record's fields (as the CSV reader split them) and its table in, one
 * outcome out: the typed values, or the reason to quarantine the record, naming each field at
 * fault, its value and the rule it breaks. Never throws.
 */
import type { Field, Table, Value } from '../dataset/model.ts';
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

/**
 * Cleans records of `table`: writes a record's values into `into` from `at` and returns null,
 * or returns the reason it is quarantined.
 */
export function cleanerFor(table: Table): Cleaner {
  const fields = table.fields;
  const patterns = fields.map((f) => (f.pattern ? patternRegExp(f.pattern) : null));
  const missing = fields.map((f) => new Set(f.missingValues));
  const fast = fields.map(fastCastFor);
  const expected = `${fields.length} fields separated by ${JSON.stringify(table.dialect.delimiter)}`;
  return (cells, into, at) => {
    if (cells.length !== fields.length) return `expected ${expected}, found ${cells.length}`;
    let reasons: string[] | null = null;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      let text = cells[i];
      if (missing[i].has(text)) {
        if (field.required) (reasons ??= []).push(`${field.name}: missing (${show(text)}), but required`);
        into[at + i] = null;
        continue;
      }
      if (field.dropSuffix && text.endsWith(field.dropSuffix)) text = text.slice(0, -field.dropSuffix.length);
      const plain = fast[i]?.(text);
      if (plain !== undefined) {
        into[at + i] = plain;
        continue;
      }
      const value = castText(field, text);
      if (isInvalid(value)) {
        (reasons ??= []).push(`${field.name}: ${show(text)} ${value.invalid}`);
        continue;
      }
      const broken = brokenConstraint(field, value, text, patterns[i]);
      if (broken) {
        (reasons ??= []).push(`${field.name}: ${broken}`);
        continue;
      }
      into[at + i] = value;
    }
    return reasons ? reasons.join('; ') : null;
  };
}
