/**
 * Adult's views, as its descriptor defines them, against the table: every figure recomputed here
 * in JavaScript from the rows of `adult` (never through the views), on the real dataset; the
 * views on an empty database; and on PostgreSQL, where every view (created with schema.ts, as
 * the PostgreSQL store creates them) gives SQLite's rows, on the real dataset and on records
 * made to put NULLs in every group and band.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadDataset } from '../../../runner/dataset/dataset.ts';
import type { Dataset, Value } from '../../../runner/dataset/model.ts';
import { openStore } from '../../../runner/store/store.ts';
import { DATA_DIR, runCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import { copyToPostgres, createSchema, fill } from '../../support/insights.ts';
import { skipUnlessPostgres, startPostgres } from '../../support/postgres.ts';

const { dataset: adult } = await loadDataset(null);
const dir = tempDir();
const dbFile = path.join(dir, 'census.db');
const load = runCli(['--unthrottled', '--db', dbFile, '--log', path.join(dir, 'log')], {
  CENSUS_DATA_DIR: DATA_DIR,
});

type Row = Record<string, string | number | null>;

/** The bands, written out as a person reads them. */
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

/** Each share view's dimension, computed from a raw row of `adult`. */
const DIMENSIONS: Record<string, (r: Row) => string | number | null> = {
  share_by_education: (r) => r.education,
  share_by_occupation: (r) => r.occupation,
  share_by_sex: (r) => r.sex,
  share_by_race: (r) => r.race,
  share_by_marital_status: (r) => r['marital-status'],
  share_by_age_band: (r) => ageBand(r.age as number),
  share_by_hours_band: (r) => hoursBand(r['hours-per-week'] as number),
};

/** The descriptor's share views: those with a chart, grouped by the chart's category. */
const SHARE_VIEWS = adult.views.filter((v) => v.chart);

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
  'every share view equals the same figures computed from the rows of ' + 'adult, in the documented order',
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
      const column = view.chart!.category;
      const groups = groupBy(rows, dimension);
      const actual = db.prepare(`SELECT * FROM ${view.name}`).all() as Row[];
      assert.deepEqual(
        new Set(actual.map((r) => r[column])),
        new Set(groups.keys()),
        `${view.name}: the groups`,
      );
      for (const r of actual) assertFigures(r, figures(groups.get(r[column])!), `${view.name} ${r[column]}`);

      const order = actual.map((r) => r[column]);
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

test(
  'adult_enriched adds over_50k, ' + 'the bands and has_capital_gain to every row of adult, and only these',
  () => {
    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare('SELECT * FROM adult_enriched').all() as Row[];
    assert.equal(rows.length, 48837);
    assert.deepEqual(Object.keys(rows[0]), [
      ...adult.tables[0].fields.map((f) => f.name),
      'source',
      'line',
      'over_50k',
      'age_band',
      'hours_band',
      'has_capital_gain',
    ]);
    for (const r of rows) {
      assert.equal(r.over_50k, r.class === '>50K' ? 1 : 0);
      assert.equal(r.age_band, ageBand(r.age as number));
      assert.equal(r.hours_band, hoursBand(r['hours-per-week'] as number));
      assert.equal(r.has_capital_gain, (r['capital-gain'] as number) > 0 ? 1 : 0);
    }
    assert.equal(rows.filter((r) => r.has_capital_gain === 1).length, 4035);
    db.close();
  },
);

test('missing_values counts the NULLs of every column, in file order', () => {
  const db = new Database(dbFile, { readonly: true });
  const rows = db.prepare('SELECT * FROM adult').all() as Row[];
  const expected = adult.tables[0].fields.map((f) => {
    const missing = rows.filter((r) => r[f.name] === null).length;
    return { table: 'adult', column: f.name, missing, records: rows.length, share: missing / rows.length };
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
  const line = (no: number, source: string, reason: string, first: number) => ({
    source_no: no,
    source,
    reason,
    records: 1,
    first_line: first,
  });
  assert.deepEqual(db.prepare('SELECT * FROM quarantine_by_reason').all(), [
    line(0, 'Adult.data', 'capital-gain: "A" is not an integer', 49),
    line(0, 'Adult.data', 'age: "B" is not an integer', 22198),
    line(0, 'Adult.data', 'fnlwgt: "C" is not an integer', 22819),
    line(0, 'Adult.data', 'age: "D" is not an integer', 32541),
    line(1, 'Adult.test', 'hours-per-week: "E" is not an integer', 31),
  ]);
  db.close();
});

test(
  'on a database with nothing loaded yet, every view answers: no groups, ' + 'zero records, no share',
  async () => {
    const store = await openStore(path.join(tempDir(), 'empty.db'), { dataset: adult });
    try {
      const [[overall], missing, quarantine, ...shares] = await store.read([
        'SELECT * FROM share_overall',
        'SELECT DISTINCT missing, records, share FROM missing_values',
        'SELECT * FROM quarantine_by_reason',
        ...SHARE_VIEWS.map((v) => `SELECT * FROM ${v.name}`),
      ]);
      assert.deepEqual(overall, {
        records: 0,
        over_50k: null,
        share: null,
        people: null,
        weighted_share: null,
      });
      assert.deepEqual(missing, [{ missing: 0, records: 0, share: null }]);
      assert.deepEqual(quarantine, []);
      for (const rows of shares) assert.deepEqual(rows, []);
    } finally {
      await store.close();
    }
  },
);

/** A value as compared across databases: PostgreSQL gives bigint and numeric back as text. */
function same(sqlite: unknown, postgres: unknown): boolean {
  if (typeof sqlite !== 'number') return sqlite === postgres;
  const n = Number(postgres);
  return Number.isInteger(sqlite)
    ? n === sqlite
    : Math.abs(n - sqlite) <= 1e-12 * Math.max(1, Math.abs(sqlite));
}

/** Every view's rows, in the view's order (adult_enriched's has none: by source and line). */
const VIEW_QUERIES = (dataset: Dataset) => [
  ...dataset.views.map((v) =>
    v.name === 'adult_enriched'
      ? 'SELECT * FROM adult_enriched ORDER BY source, line'
      : `SELECT * FROM ${v.name}`,
  ),
  // Its UNION ALL has no order PostgreSQL keeps: compared in file order here.
  'SELECT * FROM missing_values',
  'SELECT * FROM quarantine_by_reason',
];

/** Asserts that PostgreSQL's copy of a SQLite database answers every view with the same rows. */
async function assertSameOnPostgres(file: string, client: pg.Client): Promise<number> {
  await createSchema(client, adult);
  await copyToPostgres(file, adult, client);
  const db = new Database(file, { readonly: true });
  let compared = 0;
  try {
    for (const sql of VIEW_QUERIES(adult)) {
      const expected = db.prepare(sql).all() as Row[];
      let actual = (await client.query(sql)).rows as Row[];
      if (sql.includes('missing_values')) {
        const order = new Map(adult.tables[0].fields.map((f, i) => [f.name, i]));
        actual = actual.sort((a, b) => order.get(a.column as string)! - order.get(b.column as string)!);
      }
      assert.equal(actual.length, expected.length, `${sql}: rows`);
      expected.forEach((e, i) => {
        assert.deepEqual(Object.keys(actual[i]), Object.keys(e), `${sql}: columns`);
        for (const k of Object.keys(e))
          assert.ok(
            same(e[k], actual[i][k]),
            `${sql}, row ${i}, ${k}: SQLite ${e[k]}, PostgreSQL ${actual[i][k]}`,
          );
      });
      compared += expected.length;
    }
  } finally {
    db.close();
  }
  return compared;
}

/** An Adult record: a valid one, with the given fields replaced. */
function record(over: Record<string, Value>): Value[] {
  const base: Record<string, Value> = {
    age: 40,
    workclass: 'Private',
    fnlwgt: 1000,
    education: 'HS-grad',
    'education-num': 9,
    'marital-status': 'Divorced',
    occupation: 'Sales',
    relationship: 'Unmarried',
    race: 'White',
    sex: 'Female',
    'capital-gain': 0,
    'capital-loss': 0,
    'hours-per-week': 40,
    'native-country': 'United-States',
    class: '<=50K',
  };
  return adult.tables[0].fields.map((f) => (f.name in over ? over[f.name] : base[f.name]));
}

test(
  'on PostgreSQL every view gives the rows SQLite gives: the real dataset, and NULLs in every group',
  { skip: skipUnlessPostgres() },
  async () => {
    assert.equal(load.code, 0, load.stderr);
    // NULLs where PostgreSQL and SQLite sort them differently: a band, an ordering column, a share.
    const nulls = path.join(tempDir(), 'nulls.db');
    const store = await openStore(nulls, { dataset: adult });
    await fill(store, [
      {
        table: 'adult',
        name: 'Adult.data',
        rows: [
          record({ age: null, 'hours-per-week': null, 'education-num': null, 'capital-gain': null }),
          record({ class: null, occupation: 'Tech-support', fnlwgt: 5 }),
          record({ class: '>50K', age: 70, 'hours-per-week': 70, 'capital-gain': 100, sex: 'Male' }),
          record({ occupation: null, race: null, sex: null, 'marital-status': null, education: null }),
          record({ age: 20, 'hours-per-week': 10, 'education-num': 16, education: 'Doctorate' }),
        ],
        quarantined: [{ line: 1, reason: 'age: "x" is not an integer' }],
      },
    ]);
    await store.close();

    const cluster = await startPostgres();
    try {
      for (const [name, file] of [
        ['real', dbFile],
        ['nulls', nulls],
      ]) {
        cluster.createDatabase(name);
        const client = new pg.Client({ connectionString: cluster.url({ database: name }) });
        await client.connect();
        try {
          assert.ok((await assertSameOnPostgres(file, client)) > 0);
        } finally {
          await client.end();
        }
      }
    } finally {
      cluster.stop();
    }
  },
);
