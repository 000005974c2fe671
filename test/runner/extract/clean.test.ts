/**
 * Cleaning (cleanerFor; packingCleanerFor packs as it cleans): one record's fields to typed values,
 * or the reason to quarantine it, naming each field at fault, its value and the rule it breaks. On
 * Adult's built-in table, and on a small table described by hand for the rules Adult does not use.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Table, Value } from '../../../runner/dataset/model.ts';
import fc from 'fast-check';
import { brokenConstraint, castText, isInvalid } from '../../../runner/dataset/types.ts';
import { packer, packingOf } from '../../../runner/dataset/packing.ts';
import { cleanerFor, fastCastFor, packingCleanerFor } from '../../../runner/extract/clean.ts';
import { splitFields } from '../../../runner/extract/parse.ts';
import { adult, oneTable, tableOf } from '../../support/dataset.ts';

const ADULT = (await adult()).tables[0];
const NAMES = ADULT.fields.map((f) => f.name);

const VALID =
  '39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, ' +
  'White, Male, 2174, 0, 40, United-States, <=50K';
const VALUES: Value[] = [
  39,
  'State-gov',
  77516,
  'Bachelors',
  13,
  'Never-married',
  'Adm-clerical',
  'Not-in-family',
  'White',
  'Male',
  2174,
  0,
  40,
  'United-States',
  '<=50K',
];

/** A record's fields as the table's dialect splits them (Adult: ", " with the space skipped). */
function cells(table: Table, text: string): string[] {
  const fields = splitFields(table.dialect, text);
  assert.ok(typeof fields !== 'string', `${text}: ${fields}`);
  return fields as string[];
}

/** What cleaning makes of `fields`: the values, or the reason. */
function clean(table: Table, fields: readonly string[]): { values: Value[] } | { reason: string } {
  const into: Value[] = ['before'];
  const reason = cleanerFor(table)(fields, into, 1);
  return reason === null ? { values: into.slice(1) } : { reason };
}

const adultLine = (changes: Record<string, string> = {}) =>
  VALID.split(', ')
    .map((v, i) => (NAMES[i] in changes ? changes[NAMES[i]] : v))
    .join(', ');
const cleanAdult = (changes: Record<string, string> = {}) => clean(ADULT, cells(ADULT, adultLine(changes)));
const reasonOf = (r: ReturnType<typeof clean>) => {
  assert.ok('reason' in r, `expected a quarantine, got ${JSON.stringify(r)}`);
  return r.reason;
};

test('Adult: a valid record becomes typed values, written into the row buffer from the offset given', () => {
  assert.deepEqual(cleanAdult(), { values: VALUES });
  const into: Value[] = ['kept'];
  assert.equal(cleanerFor(ADULT)(cells(ADULT, VALID), into, 1), null);
  assert.deepEqual(into, ['kept', ...VALUES], 'written from `at`, what is before it untouched');
});

test('Adult: "?" is a missing value, NULL in text and integer fields alike', () => {
  assert.deepEqual(cleanAdult({ workclass: '?' }), { values: VALUES.map((v, i) => (i === 1 ? null : v)) });
  assert.deepEqual(cleanAdult({ age: '?' }), { values: VALUES.map((v, i) => (i === 0 ? null : v)) });
  // Only "?" itself: the space after the delimiter is skipped, one after the value is not.
  assert.equal(
    reasonOf(clean(ADULT, [...cells(ADULT, VALID).slice(0, 14), '? '])),
    'class: "? " is not in its enum (2 values)',
  );
});

test("Adult: the test file's class with a trailing dot (censusEtl:dropSuffix) is the same class", () => {
  assert.deepEqual(cleanAdult({ class: '>50K.' }), { values: [...VALUES.slice(0, 14), '>50K'] });
  assert.deepEqual(cleanAdult({ class: '<=50K.' }), { values: VALUES });
  // One dot is dropped, not two; and only the class has the suffix.
  assert.equal(reasonOf(cleanAdult({ class: '<=50K..' })), 'class: "<=50K." is not in its enum (2 values)');
  assert.equal(reasonOf(cleanAdult({ sex: 'Male.' })), 'sex: "Male." is not in its enum (2 values)');
});

test('Adult: each bad value is quarantined with a reason naming the field, the value and the rule', () => {
  const cases: [Record<string, string>, string][] = [
    [{ 'capital-gain': 'A' }, 'capital-gain: "A" is not an integer'],
    [{ age: '-3' }, 'age: -3 is outside 0..130'],
    [{ age: '4.5' }, 'age: "4.5" is not an integer'],
    [
      { fnlwgt: '123456789012345678901234' },
      'fnlwgt: "123456789012345678901234" is too large (beyond ±9,007,199,254,740,991)',
    ],
    [{ 'hours-per-week': '169' }, 'hours-per-week: 169 is outside 0..168'],
    [{ 'education-num': '0' }, 'education-num: 0 is outside 1..16'],
    [{ 'native-country': 'Atlantis' }, 'native-country: "Atlantis" is not in its enum (41 values)'],
    [{ education: '' }, 'education: "" is not in its enum (16 values)'],
    [{ workclass: 'private' }, 'workclass: "private" is not in its enum (8 values)'],
  ];
  for (const [changes, reason] of cases) assert.equal(reasonOf(cleanAdult(changes)), reason);
});

test('Adult: several bad fields are all named in one reason, in field order', () => {
  assert.equal(
    reasonOf(cleanAdult({ fnlwgt: 'Y', age: 'X' })),
    'age: "X" is not an integer; fnlwgt: "Y" is not an integer',
  );
});

test('a wrong number of fields is quarantined whatever the content, naming count and delimiter', async () => {
  const fields = cells(ADULT, VALID);
  assert.equal(reasonOf(clean(ADULT, fields.slice(0, 14))), 'expected 15 fields separated by ",", found 14');
  assert.equal(reasonOf(clean(ADULT, [...fields, 'extra'])), 'expected 15 fields separated by ",", found 16');
  assert.equal(reasonOf(clean(ADULT, ['a', 'b'])), 'expected 15 fields separated by ",", found 2');
  const tsv = await tableOf(oneTable([{ name: 'a' }, { name: 'b' }], { dialect: { delimiter: '\t' } }));
  assert.equal(reasonOf(clean(tsv, ['x'])), 'expected 2 fields separated by "\\t", found 1');
});

test('long values are shortened in the reason (the raw record is kept beside it)', () => {
  const reason = reasonOf(cleanAdult({ race: 'x'.repeat(500) }));
  assert.ok(reason.length < 120, reason);
  assert.match(reason, /^race: "x{40}…" is not in its enum/);
});

/** A table described by hand: the types and constraints Adult does not use. */
const GENERIC = await tableOf(
  oneTable(
    [
      { name: 'id', type: 'integer', constraints: { required: true, minimum: 1 } },
      { name: 'code', type: 'string', constraints: { pattern: '[A-Z]{3}', maxLength: 3 } },
      { name: 'score', type: 'number', constraints: { maximum: 10 } },
      { name: 'day', type: 'date', constraints: { minimum: '2000-01-01' } },
      { name: 'ok', type: 'boolean', trueValues: ['yes'], falseValues: ['no'] },
      { name: 'kind', type: 'string', constraints: { enum: ['a', 'b'] }, missingValues: ['-'] },
      { name: 'unit', type: 'string', 'censusEtl:dropSuffix': ' kg', constraints: { minLength: 2 } },
    ],
    { schema: { missingValues: ['', 'NA'] } },
  ),
);

test('a generic table: every type cast to its value', () => {
  assert.deepEqual(clean(GENERIC, ['7', 'ABC', '9.5', '2024-02-29', 'yes', 'a', '12 kg']), {
    values: [7, 'ABC', 9.5, '2024-02-29', true, 'a', '12'],
  });
  assert.deepEqual(clean(GENERIC, ['+8', 'XYZ', '-1e3', '2000-01-01', 'no', 'b', 'ab']), {
    values: [8, 'XYZ', -1000, '2000-01-01', false, 'b', 'ab'],
  });
});

test("a generic table: the schema's missing values, and a field's own in their place", () => {
  assert.deepEqual(clean(GENERIC, ['1', 'NA', '', 'NA', '', '-', 'NA']), {
    values: [1, null, null, null, null, null, null],
  });
  // The field's own missing values replace the schema's: "NA" is a value of kind, and not in its enum.
  assert.equal(
    reasonOf(clean(GENERIC, ['1', '', '', '', '', 'NA', ''])),
    'kind: "NA" is not in its enum (2 values)',
  );
});

test('a generic table: required, minimum, maximum, pattern, maxLength, enum, types: each named', () => {
  // A record with nothing but its id; each case changes one field.
  const base = ['1', '', '', '', '', '-', ''];
  const cases: [number, string, string][] = [
    [0, '', 'id: missing (""), but required'],
    [0, 'NA', 'id: missing ("NA"), but required'],
    [0, '0', 'id: 0 is below its minimum 1'],
    [1, 'AB', 'code: "AB" does not match its pattern [A-Z]{3}'],
    [1, 'abc', 'code: "abc" does not match its pattern [A-Z]{3}'],
    [1, 'ABCD', 'code: "ABCD" is longer than its maxLength 3'],
    [2, '10.5', 'score: 10.5 is above its maximum 10'],
    [2, 'ten', 'score: "ten" is not a number'],
    [3, '1999-12-31', 'day: "1999-12-31" is below its minimum 2000-01-01'],
    [3, '2023-02-29', 'day: "2023-02-29" is not a date (YYYY-MM-DD)'],
    [4, 'true', 'ok: "true" is not one of its true or false values'],
    [5, 'c', 'kind: "c" is not in its enum (2 values)'],
    [5, '', 'kind: "" is not in its enum (2 values)'],
    [6, 'x kg', 'unit: "x" is shorter than its minLength 2'],
  ];
  assert.deepEqual(clean(GENERIC, base), { values: [1, null, null, null, null, null, null] });
  for (const [at, value, reason] of cases) {
    const fields = base.map((v, i) => (i === at ? value : v));
    assert.equal(reasonOf(clean(GENERIC, fields)), reason, fields.join(','));
  }
  assert.equal(
    reasonOf(clean(GENERIC, ['0', 'abcd', 'x', '2024-1-1', 'maybe', 'z', 'y'])),
    'id: 0 is below its minimum 1; code: "abcd" is longer than its maxLength 3; ' +
      'score: "x" is not a number; ' +
      'day: "2024-1-1" is not a date (YYYY-MM-DD); ok: "maybe" is not one of its true or false values; ' +
      'kind: "z" is not in its enum (2 values); unit: "y" is shorter than its minLength 2',
  );
});

test('a generic table: a primary key field is required', async () => {
  const keyed = await tableOf(oneTable([{ name: 'k', type: 'string' }], { schema: { primaryKey: 'k' } }));
  assert.equal(reasonOf(clean(keyed, [''])), 'k: missing (""), but required');
  assert.deepEqual(clean(keyed, ['x']), { values: ['x'] });
});

test("the dialect's nullSequence is a missing value of every field", async () => {
  const t = await tableOf(
    oneTable([{ name: 'n', type: 'integer' }, { name: 's' }], { dialect: { nullSequence: '\\N' } }),
  );
  assert.deepEqual(clean(t, ['\\N', '\\N']), { values: [null, null] });
  assert.deepEqual(clean(t, ['', '']), { values: [null, null] });
});

test('the fast path gives what the full check gives for every text it takes', async () => {
  const hand = await oneTable([
    { name: 'free', type: 'string' },
    { name: 'code', type: 'string', constraints: { enum: ['A1', 'b 2', '0'] } },
    { name: 'n', type: 'integer' },
    { name: 'bounded', type: 'integer', constraints: { minimum: -5, maximum: 120 } },
    { name: 'open', type: 'integer', constraints: { exclusiveMinimum: 0, exclusiveMaximum: 10 } },
    { name: 'short', type: 'string', constraints: { maxLength: 2 } },
    { name: 'euro', type: 'integer', bareNumber: false },
  ]);
  const fields = [...ADULT.fields, ...hand.tables[0].fields];
  const unit = fc.constantFrom('0', '1', '9', '-', '+', ' ', '.', 'e', 'A', 'b', '\0', 'é');
  const text = fc.oneof(
    fc.string({ unit, maxLength: 18 }),
    fc.constantFrom(...fields.flatMap((f) => (f.enum ?? []).map(String)), '-0', '+7', '007'),
  );
  let taken = 0;
  fc.assert(
    fc.property(fc.nat(fields.length - 1), text, (at, t) => {
      const field = fields[at];
      const fast = fastCastFor(field);
      const plain = fast?.(t);
      if (plain === undefined) return;
      taken++;
      const value = castText(field, t);
      assert.ok(!isInvalid(value), `${field.name}: ${JSON.stringify(t)} taken, but ${JSON.stringify(value)}`);
      assert.equal(plain, value);
      assert.equal(brokenConstraint(field, value, t, null), null, `${field.name}: ${JSON.stringify(t)}`);
    }),
    { numRuns: 20_000 },
  );
  assert.ok(taken > 1000, `the fast path took only ${taken} texts`);
  const [age, workclass] = ADULT.fields;
  assert.equal(fastCastFor(age)!('39'), 39);
  assert.equal(fastCastFor(age)!('131'), undefined, 'above its maximum: the full check says why');
  assert.equal(fastCastFor(workclass)!('Private'), 'Private');
  assert.equal(fastCastFor(workclass)!('Public'), undefined);
  assert.equal(fastCastFor(hand.tables[0].fields[5]), null, 'maxLength: no fast path');
});

test('cleaning and packing in one pass equals cleaning then packing, codes kept or not', async () => {
  const hand = await oneTable([
    { name: 'code', type: 'string', constraints: { enum: ['A1', 'b 2', '0'], required: true } },
    { name: 'flag', type: 'boolean', trueValues: ['y'], falseValues: ['n'] },
    { name: 'small', type: 'integer', constraints: { minimum: -5, maximum: 120 } },
    { name: 'free', type: 'string' },
    { name: 'n', type: 'integer' },
  ]);
  for (const table of [ADULT, hand.tables[0]]) {
    const packing = packingOf(table);
    assert.ok(packing.digits.length > 0 && packing.loose.length > 0, table.name);
    const texts = table.fields.map((f) =>
      fc.oneof(
        fc.constantFrom(...(f.enum ?? []).map(String), ...f.missingValues, 'y', 'n', '7', '-6', '121', 'x'),
        fc.string({ unit: fc.constantFrom('0', '1', '-', ' ', 'A', 'y'), maxLength: 4 }),
      ),
    );
    const once = packingCleanerFor(table);
    const pack = packer(packing);
    // Records repeat: the second time a text comes, its code is the one kept.
    const records = fc
      .array(fc.tuple(...texts), { minLength: 1, maxLength: 40 })
      .chain((rs) => fc.shuffledSubarray([...rs, ...rs], { minLength: 2 * rs.length }));
    fc.assert(
      fc.property(records, (rs) => {
        for (const cellsOf of rs) {
          const loose: Value[] = ['before'];
          const got = once(cellsOf, loose);
          const expected = clean(table, cellsOf);
          if ('reason' in expected) {
            assert.equal(got, expected.reason);
            assert.deepEqual(loose, ['before'], 'a quarantined record leaves no loose value');
          } else {
            const wanted: Value[] = ['before'];
            assert.equal(got, pack(expected.values, 0, wanted));
            assert.deepEqual(loose, wanted);
          }
        }
      }),
      { numRuns: 500 },
    );
  }
});
