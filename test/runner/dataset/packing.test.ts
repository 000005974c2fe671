/**
 * The packed row: which fields a schema packs, that unpacking gives every row back, and that
 * SQLite's INSERT takes the packed number apart into the very values (a store filled with packed
 * rows, read back column by column).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { loadDataset } from '../../../runner/dataset/dataset.ts';
import type { Value } from '../../../runner/dataset/model.ts';
import { MAX_ENUM, packingOf, packRows, rowAt } from '../../../runner/dataset/packing.ts';
import { packedRows } from '../../../runner/store/sqlite/store.ts';
import { openStore } from '../../../runner/store/store.ts';
import { tempDir } from '../../support/fixtures.ts';
import { datasetOf, fill } from '../../support/insights.ts';

/** Every kind of field: enums of text and numbers, booleans, ranges (one negative), loose ones. */
const dataset = await datasetOf({
  name: 'kinds',
  resources: [
    {
      name: 'kinds',
      path: 'kinds.csv',
      schema: {
        fields: [
          { name: 'colour', type: 'string', constraints: { enum: ['red', "it's", 'blue, dark'] } },
          { name: 'note', type: 'string' },
          { name: 'flag', type: 'boolean' },
          { name: 'level', type: 'integer', constraints: { minimum: -3, maximum: 40 } },
          { name: 'weight', type: 'integer', constraints: { minimum: 0, maximum: 2 ** 53 - 1 } },
          { name: 'score', type: 'number', constraints: { enum: [0.5, 2, -1e-3] } },
          { name: 'year', type: 'year', constraints: { minimum: 1900, maximum: 2100 } },
          { name: 'count', type: 'integer' },
          { name: 'day', type: 'date', constraints: { enum: ['2024-02-29', '1999-12-31'] } },
        ],
      },
    },
  ],
});
const table = dataset.tables[0];

const rowArbitrary = fc.tuple(
  fc.constantFrom('red', "it's", 'blue, dark', null),
  fc.oneof(fc.string(), fc.constant(null)),
  fc.constantFrom(true, false, null),
  fc.oneof(fc.integer({ min: -3, max: 40 }), fc.constant(null)),
  fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(null)),
  fc.constantFrom(0.5, 2, -1e-3, null),
  fc.oneof(fc.integer({ min: 1900, max: 2100 }), fc.constant(null)),
  fc.oneof(fc.integer(), fc.constant(null)),
  fc.constantFrom('2024-02-29', '1999-12-31', null),
) as fc.Arbitrary<Value[]>;

test('a schema packs enums, booleans and small ranges in field order; the rest travel loose', async () => {
  const p = packingOf(table);
  const name = (i: number) => table.fields[i].name;
  assert.deepEqual(
    p.digits.map((d) => name(d.field)),
    ['colour', 'flag', 'level', 'score', 'year', 'day'],
  );
  assert.deepEqual(p.loose.map(name), ['note', 'weight', 'count']);
  assert.equal(p.top, 4 * 3 * 45 * 4 * 202 * 3);
  // Adult: 12 of its 15 fields in one number; fnlwgt, capital-gain and capital-loss loose.
  const adult = (await loadDataset(null)).dataset.tables[0];
  const a = packingOf(adult);
  assert.deepEqual(
    a.loose.map((i) => adult.fields[i].name),
    ['fnlwgt', 'capital-gain', 'capital-loss'],
  );
  assert.ok(a.top <= 2 ** 53);
  // A range that admits no value (minimum above maximum) travels loose: it cannot upset the digits.
  const empty = await datasetOf({
    name: 'empty',
    resources: [
      {
        name: 'e',
        path: 'e.csv',
        schema: {
          fields: [
            { name: 'none', type: 'integer', constraints: { minimum: 10, maximum: 5 } },
            { name: 'flag', type: 'boolean' },
            {
              name: 'long',
              type: 'integer',
              constraints: { enum: Array.from({ length: MAX_ENUM + 1 }, (_, i) => i) },
            },
          ],
        },
      },
    ],
  });
  // And so does an enum too long for a CASE per row.
  const e = packingOf(empty.tables[0]);
  assert.deepEqual([e.loose, e.digits.map((d) => d.field), e.top], [[0, 2], [1], 3]);
});

test('unpacking gives every row back, NULLs included', () => {
  fc.assert(
    fc.property(fc.array(rowArbitrary, { maxLength: 20 }), (rows) => {
      const packed = packRows(table, rows);
      rows.forEach((row, r) => assert.deepEqual(rowAt(table, packed, r), row));
    }),
  );
});

test('a value the packing has no code for is a loud error, never a wrong row', () => {
  const row: Value[] = ['green', null, null, null, null, null, null, null, null];
  assert.throws(() => packRows(table, [row]), /field 1: green has no code/);
  const outOfRange: Value[] = [null, null, null, 41, null, null, null, null, null];
  assert.throws(() => packRows(table, [outOfRange]), /field 4: 41 has no code/);
});

test("SQLite's INSERT takes every packed row apart into the values it was packed from", () => {
  const p = packingOf(table);
  fc.assert(
    fc.property(fc.array(rowArbitrary, { minLength: 1, maxLength: 20 }), (rows) => {
      const { packed, values } = packRows(table, rows);
      const params: unknown[] = [7 * 2 ** 32, 'kinds.csv'];
      rows.forEach((_, r) =>
        params.push(r + 1, packed[r], ...values.slice(r * p.loose.length, (r + 1) * p.loose.length)),
      );
      const db = new Database(':memory:');
      const got = db
        .prepare(packedRows(table, p, rows.length))
        .raw()
        .all(params) as Value[][];
      db.close();
      const expected = rows.map((row, r) => [
        7 * 2 ** 32 + r + 1,
        ...row.map((v) => (typeof v === 'boolean' ? Number(v) : v)),
        'kinds.csv',
        r + 1,
      ]);
      assert.deepEqual(got, expected);
    }),
    { numRuns: 300 },
  );
});

test('a store fed packed rows holds the values they were packed from', async () => {
  const rows = fc.sample(rowArbitrary, { numRuns: 2500, seed: 11 });
  const file = path.join(tempDir(), 'census.db');
  const store = await openStore(file, { dataset });
  try {
    await fill(store, [{ table: 'kinds', name: 'kinds.csv', rows }], 1630);
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  const stored = db.prepare('SELECT * FROM kinds ORDER BY rowid').raw().all() as Value[][];
  db.close();
  const expected = rows.map((row) => row.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
  assert.deepEqual(
    stored.map((row) => row.slice(0, table.fields.length)),
    expected,
  );
});
