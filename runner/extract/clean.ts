/**
 * Cleaning: pure. One record's fields (as the CSV reader split them) and its table in, one
 * outcome out: the typed values, or the reason to quarantine the record, naming each field at
 * fault, its value and the rule it breaks. Never throws.
 */
import type { Table, Value } from '../dataset/model.ts';
import { brokenConstraint, castText, isInvalid, patternRegExp, show } from '../dataset/types.ts';

export type Outcome = { kind: 'row'; values: Value[] } | { kind: 'quarantine'; reason: string };

/** A table's fields with what cleaning needs looked up once: the parser threads clean every record. */
export type Cleaner = (fields: readonly string[], into: Value[], at: number) => string | null;

/**
 * Cleans records of `table`: writes a record's values into `into` from `at` and returns null,
 * or returns the reason it is quarantined.
 */
export function cleanerFor(table: Table): Cleaner {
  const fields = table.fields;
  const patterns = fields.map((f) => (f.pattern ? patternRegExp(f.pattern) : null));
  const missing = fields.map((f) => new Set(f.missingValues));
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
