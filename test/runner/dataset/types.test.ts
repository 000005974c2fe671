/** Dates and times as the cleaner writes them: the text both databases hold (PostgreSQL's, DateStyle ISO). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Field } from '../../../runner/dataset/model.ts';
import { castText } from '../../../runner/dataset/types.ts';

const field = (type: Field['type'], format = 'default'): Field => ({
  name: 'x',
  type,
  format,
  missingValues: [],
  required: false,
  unique: false,
  enum: null,
  minimum: null,
  maximum: null,
  exclusiveMinimum: null,
  exclusiveMaximum: null,
  minLength: null,
  maxLength: null,
  pattern: null,
  trueValues: [],
  falseValues: [],
  decimalChar: '.',
  groupChar: null,
  bareNumber: true,
  dropSuffix: null,
});

test('fractional seconds lose their trailing zeros, as PostgreSQL prints them', () => {
  const cases: [Field, string, string][] = [
    [field('datetime'), '2020-01-02T03:04:05.500', '2020-01-02 03:04:05.5'],
    [field('datetime'), '2020-01-02T03:04:05.000Z', '2020-01-02 03:04:05'],
    [field('datetime'), '2020-01-02T03:04:05.000100', '2020-01-02 03:04:05.0001'],
    [field('datetime'), '2020-01-02T03:04:05.123456', '2020-01-02 03:04:05.123456'],
    [field('datetime', 'any'), '2020-01-02 03:04:05.50', '2020-01-02 03:04:05.5'],
    [field('datetime', '%d/%m/%Y %H:%M:%S.%f'), '02/01/2020 03:04:05.250000', '2020-01-02 03:04:05.25'],
    [field('time'), '23:59:59.120', '23:59:59.12'],
    [field('time'), '00:00:00.0', '00:00:00'],
    [field('time', 'any'), '12:30', '12:30:00'],
    [field('date'), '0099-01-01', '0099-01-01'],
  ];
  for (const [f, text, stored] of cases) assert.equal(castText(f, text), stored, `${f.type} ${text}`);
  assert.deepEqual(castText(field('time'), '00:00:00.1234567'), {
    invalid: 'has more than 6 digits of fractional seconds',
  });
});

test('a NUL character is refused in any field: PostgreSQL text cannot hold it, so neither store does', () => {
  for (const type of ['string', 'any', 'integer'] as const) {
    assert.deepEqual(castText(field(type), 'a\0b'), { invalid: 'holds a NUL character (text cannot)' });
  }
  assert.equal(castText(field('string'), 'a\u0001b'), 'a\u0001b');
});

test('a year beyond 32 bits is a year in both stores (bigint in PostgreSQL)', () => {
  assert.equal(castText(field('year'), '2147483648'), 2147483648);
});
