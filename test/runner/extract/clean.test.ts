import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanRecord } from '../../../runner/extract/clean.ts';
import { COLUMNS } from '../../../runner/dataset/adult.ts';

const split = (line: string) => line.split(',');
const VALID =
  '39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, ' +
  'White, Male, 2174, 0, 40, United-States, <=50K';
const withField = (name: string, value: string) => {
  const f = split(VALID);
  f[COLUMNS.findIndex((c) => c.name === name)] = ` ${value}`;
  return f;
};
const reasonOf = (fields: string[]) => {
  const out = cleanRecord(fields);
  assert.equal(out.kind, 'quarantine', `expected quarantine for ${fields.join(',')}`);
  return (out as { reason: string }).reason;
};

test('a valid record becomes a typed row: integers as numbers, nominal values trimmed', () => {
  assert.deepEqual(cleanRecord(split(VALID)), {
    kind: 'row',
    values: [
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
    ],
  });
});

test('"?" becomes NULL, in nominal and integer columns alike', () => {
  const out = cleanRecord(withField('workclass', '?'));
  assert.equal(out.kind === 'row' && out.values[1], null);
  const age = cleanRecord(withField('age', '?'));
  assert.equal(age.kind === 'row' && age.values[0], null);
});

test("the test file's class with a trailing dot is the same class", () => {
  const out = cleanRecord(withField('class', '>50K.'));
  assert.equal(out.kind === 'row' && out.values[14], '>50K');
  // Only the class column carries that quirk.
  assert.match(reasonOf(withField('sex', 'Male.')), /^sex: "Male\." is not one of the values/);
});

test('CRLF line endings leave no carriage return in the last field', () => {
  const out = cleanRecord(split(`${VALID}\r`));
  assert.equal(out.kind === 'row' && out.values[14], '<=50K');
});

test('blank and comment lines are skipped with their reason', () => {
  assert.deepEqual(cleanRecord(['']), { kind: 'skip', reason: 'blank line' });
  assert.deepEqual(cleanRecord(['  \r']), { kind: 'skip', reason: 'blank line' });
  assert.deepEqual(cleanRecord(['|1x3 Cross validator']), { kind: 'skip', reason: 'comment line' });
});

test('each kind of bad value is quarantined with a reason naming the column and the value', () => {
  assert.equal(reasonOf(withField('capital-gain', 'A')), 'capital-gain: "A" is not an integer');
  assert.equal(reasonOf(withField('age', '-3')), 'age: -3 is outside 0..130');
  assert.equal(reasonOf(withField('age', '4.5')), 'age: "4.5" is not an integer');
  assert.equal(
    reasonOf(withField('fnlwgt', '123456789012345678901234')),
    'fnlwgt: "123456789012345678901234" is too large',
  );
  assert.equal(reasonOf(withField('hours-per-week', '169')), 'hours-per-week: 169 is outside 0..168');
  assert.equal(
    reasonOf(withField('native-country', 'Atlantis')),
    'native-country: "Atlantis" is not one of the values in Description',
  );
  assert.equal(reasonOf(withField('education', '')), 'education: "" is not one of the values in Description');
});

test('several bad fields are all named in one reason', () => {
  const f = withField('age', 'X');
  f[2] = ' Y';
  assert.equal(reasonOf(f), 'age: "X" is not an integer; fnlwgt: "Y" is not an integer');
});

test('a wrong number of fields is quarantined, whatever the content', () => {
  assert.equal(reasonOf(split(VALID).slice(0, 14)), 'expected 15 fields separated by ",", found 14');
  assert.equal(reasonOf([...split(VALID), ' extra']), 'expected 15 fields separated by ",", found 16');
  assert.equal(reasonOf(['a', 'b']), 'expected 15 fields separated by ",", found 2');
});

test('long values are shortened in the reason (the raw line is kept beside it)', () => {
  const reason = reasonOf(withField('race', 'x'.repeat(500)));
  assert.ok(reason.length < 120, reason);
  assert.match(reason, /^race: "x{40}…"/);
});
