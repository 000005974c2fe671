/**
 * The views against the table: every figure recomputed here in JavaScript from the rows of
 * `adult` (never through the views), on the real dataset; and the views on an empty database.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { COLUMNS } from '../../../runner/dataset/adult.ts';
import { openStore } from '../../../runner/store/store.ts';
import { SHARE_VIEWS } from '../../../runner/insights/views.ts';
import { DATA_DIR, runCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';

const dir = tempDir();
const dbFile = path.join(dir, 'census.db');
const load = runCli(['--unthrottled', '--db', dbFile, '--log', path.join(dir, 'log')], {
  CENSUS_DATA_DIR: DATA_DIR,
});

type Row = Record<string, string | number | null>;

/** The bands, written out as a person reads them (the views generate theirs from edges). */
const ageBand = (age: number) =>
  age < 25
    ? 'under 25'
    : age < 35
      ? '25-34'
      : age < 45
        ? '35-44'
        : age < 55
          ? '45-54'
          : age < 65
            ? '55-64'
            : '65 and over';
const hoursBand = (h: number) =>
  h < 35
    ? 'under 35'
    : h < 40
      ? '35-39'
      : h === 40
        ? '40'
        : h < 50
          ? '41-49'
          : h < 60
            ? '50-59'
            : '60 and over';

/** Each view's dimension, computed from a raw row of `adult`. */
const DIMENSIONS: Record<string, (r: Row) => string | number | null> = {
  share_by_education: (r) => r.education,
  share_by_occupation: (r) => r.occupation,
  share_by_sex: (r) => r.sex,
  share_by_race: (r) => r.race,
  share_by_marital_status: (r) => r['marital-status'],
  share_by_age_band: (r) => ageBand(r.age as number),
  share_by_hours_band: (r) => hoursBand(r['hours-per-week'] as number),
};

/** Map.groupBy, which Node 20 lacks. */
function groupBy<K>(rows: Row[], key: (r: Row) => K): Map<K, Row[]> {
  const groups = new Map<K, Row[]>();
  for (const r of rows) {
    const k = key(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return groups;
}

type Figures = { records: number; over_50k: number; share: number; people: number; weighted_share: number };

function figures(rows: Row[]): Figures {
  const rich = rows.filter((r) => r.class === '>50K');
  const people = (xs: Row[]) => xs.reduce((n, r) => n + (r.fnlwgt as number), 0);
  return {
    records: rows.length,
    over_50k: rich.length,
    share: rich.length / rows.length,
    people: people(rows),
    weighted_share: people(rich) / people(rows),
  };
}

function assertFigures(actual: Row, expected: Figures, what: string) {
  for (const k of ['records', 'over_50k', 'people'] as const)
    assert.equal(actual[k], expected[k], `${what}: ${k}`);
  for (const k of ['share', 'weighted_share'] as const)
    assert.ok(
      Math.abs((actual[k] as number) - expected[k]) < 1e-12,
      `${what}: ${k} ${actual[k]} vs ${expected[k]}`,
    );
}

test('the real dataset loads (the views below are checked on it)', () => {
  assert.equal(load.code, 0, load.stderr);
});

test(
  'every share view equals the same figures computed from the rows of adult, ' + 'in the documented order',
  () => {
    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare('SELECT * FROM adult').all() as Row[];
    assert.equal(rows.length, 48837);
    assertFigures(db.prepare('SELECT * FROM share_overall').get() as Row, figures(rows), 'share_overall');
    assert.deepEqual(
      SHARE_VIEWS.map((v) => v.name),
      Object.keys(DIMENSIONS),
    );

    for (const view of SHARE_VIEWS) {
      const dimension = DIMENSIONS[view.name];
      const groups = groupBy(rows, dimension);
      const actual = db.prepare(`SELECT * FROM ${view.name}`).all() as Row[];
      assert.deepEqual(
        new Set(actual.map((r) => r[view.dimension])),
        new Set(groups.keys()),
        `${view.name}: the groups`,
      );
      for (const r of actual)
        assertFigures(r, figures(groups.get(r[view.dimension])!), `${view.name} ${r[view.dimension]}`);

      const order = actual.map((r) => r[view.dimension]);
      if (view.name === 'share_by_education') {
        assert.deepEqual(
          actual.map((r) => r['education-num']),
          Array.from({ length: 16 }, (_, i) => i + 1),
        );
      } else if (view.name === 'share_by_age_band') {
        assert.deepEqual(order, ['under 25', '25-34', '35-44', '45-54', '55-64', '65 and over']);
      } else if (view.name === 'share_by_hours_band') {
        assert.deepEqual(order, ['under 35', '35-39', '40', '41-49', '50-59', '60 and over']);
      } else {
        const shares = actual.map((r) => r.share as number);
        assert.deepEqual(
          shares,
          [...shares].sort((a, b) => b - a),
          `${view.name}: highest share first`,
        );
      }
    }
    // A group of records whose occupation is missing ("?") is a group of its own.
    assert.equal(
      (db.prepare('SELECT records FROM share_by_occupation WHERE occupation IS NULL').get() as Row).records,
      2809,
    );
    db.close();
  },
);

test('adult_enriched adds over_50k, the bands and has_capital_gain to every row of adult', () => {
  const db = new Database(dbFile, { readonly: true });
  const rows = db.prepare('SELECT * FROM adult_enriched').all() as Row[];
  assert.equal(rows.length, 48837);
  for (const r of rows) {
    assert.equal(r.over_50k, r.class === '>50K' ? 1 : 0);
    assert.equal(r.age_band, ageBand(r.age as number));
    assert.equal(r.hours_band, hoursBand(r['hours-per-week'] as number));
    assert.equal(r.has_capital_gain, (r['capital-gain'] as number) > 0 ? 1 : 0);
  }
  assert.equal(rows.filter((r) => r.has_capital_gain === 1).length, 4035);
  db.close();
});

test('missing_values counts the NULLs of every column, in file order', () => {
  const db = new Database(dbFile, { readonly: true });
  const rows = db.prepare('SELECT * FROM adult').all() as Row[];
  const expected = COLUMNS.map((c) => {
    const missing = rows.filter((r) => r[c.name] === null).length;
    return { column: c.name, missing, records: rows.length, share: missing / rows.length };
  });
  assert.deepEqual(db.prepare('SELECT * FROM missing_values').all(), expected);
  assert.deepEqual(
    expected.filter((m) => m.missing > 0).map((m) => [m.column, m.missing]),
    [
      ['workclass', 2799],
      ['occupation', 2809],
      ['native-country', 857],
    ],
  );
  db.close();
});

test('quarantine_by_reason groups the quarantined lines by source and reason', () => {
  const db = new Database(dbFile, { readonly: true });
  assert.deepEqual(db.prepare('SELECT * FROM quarantine_by_reason').all(), [
    { source: 'Adult.data', reason: 'capital-gain: "A" is not an integer', records: 1, first_line: 49 },
    { source: 'Adult.data', reason: 'age: "B" is not an integer', records: 1, first_line: 22198 },
    { source: 'Adult.data', reason: 'fnlwgt: "C" is not an integer', records: 1, first_line: 22819 },
    { source: 'Adult.data', reason: 'age: "D" is not an integer', records: 1, first_line: 32541 },
    { source: 'Adult.test', reason: 'hours-per-week: "E" is not an integer', records: 1, first_line: 31 },
  ]);
  db.close();
});

test('on a database with nothing loaded yet, every view answers: no groups, zero records, no share', () => {
  const { db, close } = openStore(path.join(tempDir(), 'empty.db'));
  try {
    assert.deepEqual(db.prepare('SELECT * FROM share_overall').get(), {
      records: 0,
      over_50k: null,
      share: null,
      people: null,
      weighted_share: null,
    });
    for (const v of SHARE_VIEWS) assert.deepEqual(db.prepare(`SELECT * FROM ${v.name}`).all(), [], v.name);
    assert.deepEqual(db.prepare('SELECT DISTINCT missing, records, share FROM missing_values').all(), [
      { missing: 0, records: 0, share: null },
    ]);
    assert.deepEqual(db.prepare('SELECT * FROM quarantine_by_reason').all(), []);
  } finally {
    close();
  }
});
