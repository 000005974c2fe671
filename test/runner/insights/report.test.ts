/**
 * The report. On stores filled batch by batch here: Adult's report, number by number; a dataset
 * that is not Adult (two tables, every kind of field, a view with a chart), to show the report is
 * the dataset's; a quarantine of 10,000 reasons and a table of 20,000 rows read in a few hundred
 * rows; one snapshot while a batch commits; the same report from PostgreSQL. On the real dataset:
 * every number against SQL written here straight over the tables (not through the views), the
 * page in a real headless Chromium, and a report taken mid-run while the load goes on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadDataset } from '../../../runner/dataset/dataset.ts';
import type { Dataset, Value } from '../../../runner/dataset/model.ts';
import { launchChromium } from '../../../runner/insights/browser.ts';
import { readReport, writeReport } from '../../../runner/insights/report.ts';
import { openStore, type Store } from '../../../runner/store/store.ts';
import { DATA_DIR, ROOT, finished, runCli, startCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import {
  copyToPostgres,
  createSchema,
  datasetOf,
  fill,
  postgresReader,
  type TestSource,
} from '../../support/insights.ts';
import { skipUnlessPostgres, startPostgres } from '../../support/postgres.ts';
import { requireTool } from '../../support/tools.ts';
import { packRows } from '../../../runner/dataset/packing.ts';

const { dataset: adult } = await loadDataset(null);

const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

type Table = string[][];
type Part = { level: number; title: string; text: string; tables: Table[] };

/** report.md's parts (by `## ` and `### ` heading): the text and the tables (header row first) of each. */
function parts(md: string): Part[] {
  return md
    .split(/^(?=#{2,3} )/m)
    .slice(1)
    .map((chunk) => {
      const [heading, ...lines] = chunk.split('\n');
      const tables: Table[] = [];
      let table: Table | null = null;
      for (const line of lines) {
        if (!line.startsWith('| ')) {
          table = null;
          continue;
        }
        if (!table) tables.push((table = []));
        const cells = line
          .slice(2, -2)
          .split(/(?<!\\) \| /)
          .map((c) => c.replaceAll('\\|', '|'));
        if (!cells.every((c) => /^-+:?$/.test(c))) table.push(cells);
      }
      const [, hashes, title] = /^(#+) (.*)$/.exec(heading)!;
      return { level: hashes.length, title, text: lines.join('\n').trim(), tables };
    });
}

function part(md: string, title: string, nth = 0): Part {
  const found = parts(md).filter((p) => p.title === title);
  assert.ok(found[nth], `report.md has a part "${title}"`);
  return found[nth];
}
/** The rows (no header) of a part's only (or first) table. */
const rowsOf = (md: string, title: string, nth = 0) => part(md, title, nth).tables[0].slice(1);

const ADULT_FIELDS = adult.tables[0].fields.map((f) => f.name);
/** A record of Adult in field order, from a line written as in the source files. */
const adultRecord = (line: string): Value[] =>
  line.split(', ').map((v, i) => {
    if (v === '?') return null;
    const type = adult.tables[0].fields[i].type;
    return type === 'integer' ? Number(v) : v;
  });

/** Eight records chosen so that every figure below can be checked by hand. */
const ADULT_DATA = [
  '25, Private, 100, Bachelors, 13, Never-married, Sales, Not-in-family, ' +
    'White, Male, 0, 0, 40, United-States, <=50K',
  '38, Private, 200, Masters, 14, Married-civ-spouse, Exec-managerial, Husband, White, Male, 5000, 0, 50, ' +
    'United-States, >50K',
  '52, Self-emp-inc, 300, Bachelors, 13, Married-civ-spouse, ' +
    'Exec-managerial, Wife, Black, Female, 0, 0, 45, ?, >50K',
  '19, ?, 400, HS-grad, 9, Never-married, ?, Own-child, White, Female, 0, 0, 20, Mexico, <=50K',
  '67, Private, 100, HS-grad, 9, Widowed, Sales, Unmarried, White, Female, 0, 1000, 35, United-States, <=50K',
  '45, Local-gov, 200, Masters, 14, Divorced, Exec-managerial, Not-in-family, Black, Male, 0, 0, 60, ' +
    'United-States, >50K',
].map(adultRecord);
const ADULT_TEST = [
  '30, Private, 300, Bachelors, 13, Married-civ-spouse, Sales, ' +
    'Husband, White, Male, 0, 0, 40, United-States, <=50K',
  '58, Private, 100, HS-grad, 9, Married-civ-spouse, ?, Husband, White, Male, 0, 0, 40, United-States, >50K',
].map(adultRecord);

const ADULT_SOURCES: TestSource[] = [
  {
    table: 'adult',
    name: 'Adult.data',
    rows: ADULT_DATA,
    quarantined: [
      { line: 1, reason: 'age: "x" is not an integer' },
      { line: 2, reason: 'age: "x" is not an integer' },
    ],
    skipped: 1,
  },
  {
    table: 'adult',
    name: 'Adult.test',
    rows: ADULT_TEST,
    quarantined: [{ line: 1, reason: 'workclass: "Astronaut" is not one of the allowed values' }],
  },
];

/** A store on a new SQLite file holding `sources` of `dataset`. */
async function filled(dataset: Dataset, sources: TestSource[], batchSize?: number): Promise<string> {
  const file = path.join(tempDir(), 'census.db');
  const store = await openStore(file, { dataset });
  try {
    await fill(store, sources, batchSize);
  } finally {
    await store.close();
  }
  return file;
}

/** The report of a database, through a read-only store as `census-etl report` opens it. */
async function reportOf(file: string, out = tempDir()): Promise<{ md: string; html: string; out: string }> {
  const store = await openStore(file, { dataset: null, readOnly: true });
  try {
    const files = await writeReport({ store, out });
    return { md: readFileSync(files.markdown, 'utf8'), html: readFileSync(files.html, 'utf8'), out };
  } finally {
    await store.close();
  }
}

/** Every chart report.md shows is an SVG file in charts/, and inlined in report.html. */
function assertCharts(r: { md: string; html: string; out: string }): string[] {
  const files = [...r.md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
  for (const file of files) assert.match(readFileSync(path.join(r.out, file), 'utf8'), /^<svg /);
  assert.equal((r.html.match(/<figure><svg /g) ?? []).length, files.length);
  return files.map((f) => readFileSync(path.join(r.out, f), 'utf8'));
}

test(
  "Adult's report: coverage, every view of the descriptor, " + 'missing values, quarantine, profile',
  async () => {
    const r = await reportOf(await filled(adult, ADULT_SOURCES));
    const { md } = r;
    assert.match(md, /^# Census Adult: who earns more than \$50K\?\n\nGenerated .* by census-etl report, /);
    assert.ok(
      md.includes(
        '**Complete: 12 of 12 records read (100%); 8 loaded, 3 quarantined, ' +
          '1 blank, comment or header lines skipped.**',
      ),
    );
    const covered = part(md, 'What this report covers');
    assert.match(covered.text, /^1 batch committed, the last at \d{4}-.*; time per batch: median 1 ms/);
    assert.deepEqual(covered.tables[0], [
      ['Source', 'Records read', 'Records', 'Loaded', 'Quarantined', 'Skipped'],
      ['Adult.data', '9', '9', '6', '2', '1'],
      ['Adult.test', '3', '3', '2', '1', '0'],
    ]);

    // The views with report: true, in the descriptor's order, as titled there (adult_enriched is not).
    const titles = parts(md)
      .filter((p) => p.level === 2)
      .map((p) => p.title);
    assert.deepEqual(titles.slice(1, 9), [
      'Overall',
      'By education',
      'By occupation',
      'By sex',
      'By race',
      'By marital status',
      'By age',
      'By hours worked per week',
    ]);
    const head = ['Records', 'Earning >50K', 'Share of records', 'People (sum of fnlwgt)', 'Share of people'];
    assert.deepEqual(part(md, 'Overall').tables[0], [head, ['8', '4', '50.0%', '1,700', '47.1%']]);
    assert.equal(
      part(md, 'By sex').text,
      [
        'Highest: Male (60.0% of records, 55.6% of people (weighted by fnlwgt)); ' +
          'lowest: Female (33.3% of records, 37.5% of people (weighted by fnlwgt)).',
        '![By sex](charts/share_by_sex.svg)',
        `| Sex | ${head.join(' | ')} |\n` +
          '| --- | ---: | ---: | ---: | ---: | ---: |\n' +
          '| Male | 5 | 3 | 60.0% | 900 | 55.6% |\n' +
          '| Female | 3 | 1 | 33.3% | 800 | 37.5% |',
      ].join('\n\n'),
    );
    assert.deepEqual(rowsOf(md, 'By education'), [
      ['HS-grad', '3', '1', '33.3%', '600', '16.7%'],
      ['Bachelors', '3', '1', '33.3%', '700', '42.9%'],
      ['Masters', '2', '2', '100.0%', '400', '100.0%'],
    ]);
    // A missing occupation is a group of its own.
    assert.deepEqual(rowsOf(md, 'By occupation'), [
      ['Exec-managerial', '3', '3', '100.0%', '700', '100.0%'],
      ['(missing)', '2', '1', '50.0%', '500', '20.0%'],
      ['Sales', '3', '0', '0.0%', '500', '0.0%'],
    ]);
    assert.deepEqual(
      rowsOf(md, 'By age').map((row) => row[0]),
      ['under 25', '25-34', '35-44', '45-54', '55-64', '65 and over'],
    );
    assert.deepEqual(
      rowsOf(md, 'By hours worked per week').map((row) => [row[0], row[1]]),
      [
        ['under 35', '1'],
        ['35-39', '1'],
        ['40', '3'],
        ['41-49', '1'],
        ['50-59', '1'],
        ['60 and over', '1'],
      ],
    );

    const missing = part(md, 'Missing values per column');
    assert.match(missing.text, /^What the descriptor counts as missing \("\?"\) is stored as NULL; /);
    assert.deepEqual(
      missing.tables[0].slice(1),
      ADULT_FIELDS.map((f) => {
        const n = { workclass: 1, occupation: 2, 'native-country': 1 }[f] ?? 0;
        return [f, String(n), '8', pct(n / 8)];
      }),
    );

    assert.equal(
      part(md, 'Data quality: quarantined records').text,
      [
        '3 records could not be loaded as typed rows: each is kept in table quarantine with its raw line ' +
          'and the reason. 2 distinct reasons.',
        '| Reason | Records | First in | Line |\n| --- | ---: | --- | ---: |\n' +
          '| age: "x" is not an integer | 2 | Adult.data | 1 |\n' +
          '| workclass: "Astronaut" is not one of the allowed values | 1 | Adult.test | 1 |',
      ].join('\n\n'),
    );

    const profile = part(md, 'Profile of table adult');
    assert.match(profile.text, /^8 rows\. Per field: /);
    const summary = new Map(profile.tables[0].slice(1).map((row) => [row[0], row.slice(1)]));
    assert.deepEqual([...summary.keys()], ADULT_FIELDS);
    assert.deepEqual(summary.get('age'), ['integer', '0', '8', '19', '67', '41.75', '']);
    assert.deepEqual(summary.get('fnlwgt'), ['integer', '0', '4', '100', '400', '212.5', '']);
    assert.deepEqual(summary.get('workclass'), ['string', '1', '3', '', '', '', 'Private (5)']);
    assert.deepEqual(summary.get('native-country'), ['string', '1', '2', '', '', '', 'United-States (6)']);
    assert.deepEqual(summary.get('class'), ['string', '0', '2', '', '', '', '<=50K (4)']);
    // Histograms of whole numbers: ten bins of 5 years from 19, the last one up to the maximum.
    assert.deepEqual(rowsOf(md, 'age'), [
      ['19–23', '1'],
      ['24–28', '1'],
      ['29–33', '1'],
      ['34–38', '1'],
      ['39–43', '0'],
      ['44–48', '1'],
      ['49–53', '1'],
      ['54–58', '1'],
      ['59–63', '0'],
      ['64–67', '1'],
    ]);
    assert.deepEqual(rowsOf(md, 'workclass'), [
      ['Private', '5', '62.5%'],
      ['Local-gov', '1', '12.5%'],
      ['Self-emp-inc', '1', '12.5%'],
    ]);
    // Every field has at least two values here: each has its chart.
    assert.deepEqual(
      parts(md)
        .filter((p) => p.level === 3)
        .map((p) => p.title),
      ADULT_FIELDS,
    );

    const svgs = assertCharts(r);
    assert.equal(svgs.length, 7 + 1 + ADULT_FIELDS.length, 'seven views, missing values, every field');
    const bySex = readFileSync(path.join(r.out, 'charts/share_by_sex.svg'), 'utf8');
    for (const label of ['Male (n=5)', 'Female (n=3)', '60.0%', '55.6%', 'Sex (n = records)'])
      assert.ok(bySex.includes(label), `${label} on the chart`);
  },
);

/** Two tables with every kind of field, a view with a chart, and a helper view the report leaves out. */
const WEATHER = {
  name: 'weather',
  title: 'Weather stations',
  resources: [
    {
      name: 'stations',
      path: 'stations.csv',
      schema: {
        fields: [
          { name: 'id', type: 'integer' },
          { name: 'name', type: 'string' },
          { name: 'active', type: 'boolean' },
          { name: 'opened', type: 'date' },
          { name: 'elevation m', type: 'number' },
        ],
        primaryKey: 'id',
      },
    },
    {
      name: 'readings',
      path: 'readings.csv',
      schema: {
        fields: [
          { name: 'station', type: 'integer' },
          { name: 'day', type: 'date' },
          { name: 'temperature', type: 'number' },
          { name: 'rain', type: 'boolean' },
          { name: 'quality', type: 'string', constraints: { enum: ['good', 'suspect'] } },
        ],
      },
    },
  ],
  'censusEtl:views': [
    { name: 'station_names', report: false, sql: 'SELECT id, "name" FROM stations' },
    {
      name: 'readings_by_station',
      title: 'Readings by station',
      description: 'Mean temperature and share of rainy days per station.',
      sql: [
        'SELECT n."name" AS station, count(*) AS readings, avg(r.temperature) AS mean_temperature,',
        '  avg(CASE WHEN r.rain THEN 1.0 ELSE 0.0 END) AS rainy',
        'FROM readings r JOIN station_names n ON n.id = r.station GROUP BY n."name" ORDER BY n."name"',
      ],
      columns: {
        station: { label: 'Station' },
        readings: { label: 'Readings', format: 'count' },
        mean_temperature: { label: 'Mean temperature (°C)', format: 'number' },
        rainy: { label: 'Rainy days', format: 'percent' },
      },
      chart: {
        title: 'Mean temperature by station',
        category: 'station',
        categoryLabel: 'Station',
        measures: [{ column: 'mean_temperature', label: 'mean temperature' }],
        count: 'readings',
        axisTitle: '°C',
      },
    },
  ],
};

const STATIONS: Value[][] = [
  [1, 'North Point', true, '2001-03-04', 120.5],
  [2, 'Harbour', false, '1998-07-01', 3],
  [3, 'Summit', true, '2015-11-30', 1804.25],
  [4, 'Valley', null, null, null],
];
const READINGS: Value[][] = [
  [1, '2024-01-01', 4.5, true, 'good'],
  [1, '2024-01-02', 6, false, 'good'],
  [2, '2024-01-01', 9.25, true, 'good'],
  [2, '2024-01-02', 10.75, true, 'suspect'],
  [3, '2024-01-01', -7.5, false, 'good'],
  [3, '2024-01-02', null, null, null],
];
const WEATHER_SOURCES = (
  readings = READINGS,
  quarantined = [{ line: 1, reason: 'temperature: "hot" is not a number' }],
) => [
  { table: 'stations', name: 'stations.csv', rows: STATIONS },
  { table: 'readings', name: 'readings.csv', rows: readings, quarantined, skipped: 1 },
];

test(
  'a dataset that is not Adult: its title, its tables, ' + 'its view and chart, a profile of every field',
  async () => {
    const weather = await datasetOf(WEATHER);
    const r = await reportOf(await filled(weather, WEATHER_SOURCES()));
    const { md } = r;
    assert.match(md, /^# Weather stations\n/);
    assert.ok(md.includes('**Complete: 12 of 12 records read (100%); 10 loaded, 1 quarantined, 1 blank'));
    assert.deepEqual(part(md, 'What this report covers').tables[0], [
      ['Table', 'Source', 'Records read', 'Records', 'Loaded', 'Quarantined', 'Skipped'],
      ['stations', 'stations.csv', '4', '4', '4', '0', '0'],
      ['readings', 'readings.csv', '8', '8', '6', '1', '1'],
    ]);
    assert.deepEqual(
      parts(md)
        .filter((p) => p.level === 2)
        .map((p) => p.title),
      [
        'What this report covers',
        'Readings by station',
        'Missing values per column',
        'Data quality: quarantined records',
        'Profile of table stations',
        'Profile of table readings',
      ],
    );
    assert.equal(
      part(md, 'Readings by station').text,
      [
        'Mean temperature and share of rainy days per station.',
        'Highest: Harbour (mean temperature 10); lowest: Summit (mean temperature -7.5).',
        '![Readings by station](charts/readings_by_station.svg)',
        '| Station | Readings | Mean temperature (°C) | Rainy days |\n' +
          '| --- | ---: | ---: | ---: |\n' +
          '| Harbour | 2 | 10 | 100.0% |\n' +
          '| North Point | 2 | 5.25 | 50.0% |\n' +
          '| Summit | 2 | -7.5 | 0.0% |',
      ].join('\n\n'),
    );
    const chart = readFileSync(path.join(r.out, 'charts/readings_by_station.svg'), 'utf8');
    for (const label of ['Mean temperature by station', 'Harbour (n=2)', 'Station (n = readings)', '°C'])
      assert.ok(chart.includes(label), `${label} on the chart`);

    assert.deepEqual(rowsOf(md, 'Missing values per column'), [
      ['stations', 'id', '0', '4', '0.0%'],
      ['stations', 'name', '0', '4', '0.0%'],
      ['stations', 'active', '1', '4', '25.0%'],
      ['stations', 'opened', '1', '4', '25.0%'],
      ['stations', 'elevation m', '1', '4', '25.0%'],
      ['readings', 'station', '0', '6', '0.0%'],
      ['readings', 'day', '0', '6', '0.0%'],
      ['readings', 'temperature', '1', '6', '16.7%'],
      ['readings', 'rain', '1', '6', '16.7%'],
      ['readings', 'quality', '1', '6', '16.7%'],
    ]);
    assert.deepEqual(rowsOf(md, 'Data quality: quarantined records'), [
      ['temperature: "hot" is not a number', '1', 'readings.csv', '1'],
    ]);

    assert.deepEqual(rowsOf(md, 'Profile of table stations'), [
      ['id', 'integer', '0', '4', '1', '4', '2.5', ''],
      ['name', 'string', '0', '4', '', '', '', 'Harbour (1)'],
      ['active', 'boolean', '1', '2', '', '', '', 'true (2)'],
      ['opened', 'date', '1', '3', '1998-07-01', '2015-11-30', '', ''],
      ['elevation m', 'number', '1', '3', '3', '1,804.25', '642.58', ''],
    ]);
    assert.deepEqual(rowsOf(md, 'Profile of table readings'), [
      ['station', 'integer', '0', '3', '1', '3', '2', ''],
      ['day', 'date', '0', '2', '2024-01-01', '2024-01-02', '', ''],
      ['temperature', 'number', '1', '5', '-7.5', '10.75', '4.6', ''],
      ['rain', 'boolean', '1', '2', '', '', '', 'true (3)'],
      ['quality', 'string', '1', '2', '', '', '', 'good (4)'],
    ]);
    // Per field, a chart where it helps: not for dates, nor for a field with one value.
    assert.deepEqual(
      parts(md)
        .filter((p) => p.level === 3)
        .map((p) => p.title),
      ['id', 'name', 'active', 'elevation m', 'station', 'temperature', 'rain', 'quality'],
    );
    assert.deepEqual(rowsOf(md, 'id'), [
      ['1', '1'],
      ['2', '1'],
      ['3', '1'],
      ['4', '1'],
    ]);
    assert.deepEqual(rowsOf(md, 'rain'), [
      ['true', '3', '50.0%'],
      ['false', '2', '33.3%'],
    ]);
    const elevation = rowsOf(md, 'elevation m');
    assert.equal(elevation.length, 10);
    assert.deepEqual(
      [elevation[0], elevation[9]],
      [
        ['3 to <183', '2'],
        ['1,624 to 1,804', '1'],
      ],
    );
    assert.equal(assertCharts(r).length, 1 + 1 + 8, 'the view, missing values, eight fields');
    assert.ok(!md.includes('station_names'), 'a view with report: false is not shown');
  },
);

test(
  'a quarantine of 10,000 reasons and a table of 20,000 rows: the report ' + 'reads a few hundred rows',
  async () => {
    const weather = await datasetOf(WEATHER);
    const readings = Array.from({ length: 20_000 }, (_, i): Value[] => [
      1 + (i % 3),
      `2024-01-${String(1 + (i % 28)).padStart(2, '0')}`,
      (i % 400) / 10,
      i % 2 === 0,
      i % 5 ? 'good' : 'suspect',
    ]);
    // 10,000 reasons, one of them 51 times.
    const quarantined = Array.from({ length: 10_050 }, (_, i) => ({
      line: i + 1,
      reason: `temperature: "v${Math.min(i, 9999)}" is not a number`,
    }));
    const file = await filled(weather, WEATHER_SOURCES(readings, quarantined), 5000);
    const store = await openStore(file, { dataset: null, readOnly: true });
    let read = 0;
    const counting = Object.create(store) as Store;
    counting.read = async (queries) => {
      const results = await store.read(queries);
      read += results.reduce((n, rows) => n + rows.length, 0);
      return results;
    };
    try {
      const out = tempDir();
      const md = readFileSync((await writeReport({ store: counting, out })).markdown, 'utf8');
      assert.ok(read < 200, `${read} rows read`);
      const q = part(md, 'Data quality: quarantined records');
      assert.match(
        q.text,
        /^10,050 records could not be loaded as typed rows: .* 10,000 distinct reasons; the 20 most frequent/,
      );
      assert.deepEqual(q.tables[0].slice(1), [
        ['temperature: "v9999" is not a number', '51', 'readings.csv', '10000'],
        ...Array.from({ length: 19 }, (_, i) => [
          `temperature: "v${i}" is not a number`,
          '1',
          'readings.csv',
          String(i + 1),
        ]),
      ]);
      assert.ok(q.text.endsWith('…and 9,980 other reasons (9,980 records).'), q.text.slice(-200));
      assert.deepEqual(rowsOf(md, 'Profile of table readings')[0], [
        'station',
        'integer',
        '0',
        '3',
        '1',
        '3',
        '2',
        '',
      ]);
      assert.deepEqual(rowsOf(md, 'quality'), [
        ['good', '16,000', '80.0%'],
        ['suspect', '4,000', '20.0%'],
      ]);
    } finally {
      await store.close();
    }
  },
);

test(
  'the report reads one snapshot: a batch committed after the status is ' + 'read shows in every figure',
  async () => {
    const file = path.join(tempDir(), 'census.db');
    const writer = await openStore(file, { dataset: adult });
    const rows = [...ADULT_DATA, ...ADULT_TEST];
    await writer.registerSources([
      {
        no: 0,
        resource: 'adult',
        name: 'Adult.data',
        uri: '/d',
        sha256: '0'.repeat(64),
        bytes: 800,
        lines: 8,
        records: 8,
      },
    ]);
    const batch = (from: number, to: number) =>
      writer.writeBatch({
        rows: [
          {
            table: 'adult',
            sourceNo: 0,
            source: 'Adult.data',
            lines: rows.slice(from, to).map((_, k) => from + k + 1),
            ...packRows(adult.tables[0], rows.slice(from, to)),
          },
        ],
        quarantined: [],
        skipped: 0,
        progress: [{ no: 0, nextOffset: to * 100, nextLine: to + 1, loaded: to, quarantined: 0, skipped: 0 }],
        ms: 1,
      });
    await batch(0, 3);
    const reader = await openStore(file, { dataset: null, readOnly: true });
    let interleaved = false;
    const racing = Object.create(reader) as Store;
    racing.status = async () => {
      const status = await reader.status();
      await batch(3, 8);
      interleaved = true;
      return status;
    };
    try {
      const data = await readReport(racing);
      assert.ok(interleaved, 'a batch committed between the status and the rest');
      assert.equal(data.status.totals.loaded, 8);
      assert.equal(data.status.batches.count, 2);
      assert.ok(data.status.complete);
      const overall = data.views.find((v) => v.view.name === 'share_overall')!.rows[0];
      assert.equal(overall.records, 8);
      const bySex = data.views.find((v) => v.view.name === 'share_by_sex')!.rows;
      assert.equal(
        bySex.reduce((n, r) => n + (r.records as number), 0),
        8,
      );
      assert.equal(data.profiles[0].rows, 8);
    } finally {
      await reader.close();
      await writer.close();
    }
  },
);

/** report.md without its "Generated …" line, which says when and from which database. */
const content = (md: string) => md.replace(/^Generated .*$/m, '');

const dir = tempDir();
const dbFile = path.join(dir, 'census.db');
const outDir = path.join(dir, 'report');
const load = runCli(['--unthrottled', '--db', dbFile, '--log', path.join(dir, 'log')], {
  CENSUS_DATA_DIR: DATA_DIR,
});
const report = runCli(['report', '--db', dbFile, '--out', outDir]);

test(
  'on PostgreSQL the report is the same, number for number: Adult, the real dataset, a dataset not Adult',
  { skip: skipUnlessPostgres() },
  async () => {
    assert.equal(load.code, 0, load.stderr);
    const weather = await datasetOf(WEATHER);
    const cases: [string, Dataset, string][] = [
      ['adult', adult, await filled(adult, ADULT_SOURCES)],
      ['real', adult, dbFile],
      ['weather', weather, await filled(weather, WEATHER_SOURCES())],
    ];
    const cluster = await startPostgres();
    try {
      for (const [name, dataset, file] of cases) {
        cluster.createDatabase(name);
        const client = new pg.Client({ connectionString: cluster.url({ database: name }) });
        await client.connect();
        try {
          await createSchema(client, dataset);
          await copyToPostgres(file, dataset, client);
          const out = tempDir();
          const fromPostgres = await writeReport({ store: postgresReader(client, dataset), out });
          const md = readFileSync(fromPostgres.markdown, 'utf8');
          assert.match(md, /^Generated .* from one snapshot of the PostgreSQL database\.$/m);
          assert.equal(content(md), content((await reportOf(file)).md), name);
        } finally {
          await client.end();
        }
      }
    } finally {
      cluster.stop();
    }
  },
);

/** How each "By ..." section groups the records, written here independently of the views. */
const GROUPS: Record<string, string> = {
  'By education': 'education',
  'By occupation': 'occupation',
  'By sex': 'sex',
  'By race': 'race',
  'By marital status': '"marital-status"',
  'By age': `CASE WHEN age < 25 THEN 'under 25' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
    WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65 and over' END`,
  'By hours worked per week': `CASE WHEN "hours-per-week" < 35 THEN 'under 35'
    WHEN "hours-per-week" < 40 THEN '35-39' WHEN "hours-per-week" = 40 THEN '40'
    WHEN "hours-per-week" < 50 THEN '41-49' WHEN "hours-per-week" < 60 THEN '50-59'
    ELSE '60 and over' END`,
};
const SHARE_SQL = `count(*) AS records, sum(class = '>50K') AS rich, sum(fnlwgt) AS people,
  sum(CASE WHEN class = '>50K' THEN fnlwgt ELSE 0 END) * 1.0 / sum(fnlwgt) AS weighted`;
type Share = { records: number; rich: number; people: number; weighted: number };
const shareCells = (s: Share) => [
  count(s.records),
  count(s.rich),
  pct(s.rich / s.records),
  count(s.people),
  pct(s.weighted),
];

/** Every table and the coverage line of report.md, against SQL over adult, quarantine and sources. */
function assertReportMatches(md: string, file: string): void {
  const db = new Database(file, { readonly: true });
  const get = (sql: string) => db.prepare(sql).get() as Record<string, number>;
  const all = (sql: string) => db.prepare(sql).raw().all() as (string | number)[][];
  try {
    const t = get(`SELECT sum(loaded + quarantined + skipped) AS read, sum(records) AS records,
      sum(skipped) AS skipped, (SELECT count(*) FROM adult) AS loaded,
      (SELECT count(*) FROM quarantine) AS quarantined FROM sources`);
    const percent = Math.round((t.read / t.records) * 1000) / 10;
    assert.ok(
      md.includes(
        `${count(t.read)} of ${count(t.records)} records read (${percent}%); ` +
          `${count(t.loaded)} loaded, ${count(t.quarantined)} quarantined, ${count(t.skipped)} blank`,
      ),
      'the coverage line',
    );
    assert.deepEqual(
      rowsOf(md, 'What this report covers'),
      all(`SELECT name, loaded + quarantined + skipped, records,
      (SELECT count(*) FROM adult WHERE source = name),
      (SELECT count(*) FROM quarantine WHERE source = name), skipped
      FROM sources ORDER BY no`).map(([name, ...n]) => [name, ...n.map((x) => count(x as number))]),
    );

    assert.deepEqual(rowsOf(md, 'Overall'), [shareCells(get(`SELECT ${SHARE_SQL} FROM adult`) as Share)]);

    for (const [title, group] of Object.entries(GROUPS)) {
      const expected = new Map(
        (
          db
            .prepare(`SELECT coalesce(${group}, '(missing)') AS label, ${SHARE_SQL} FROM adult GROUP BY 1`)
            .all() as (Share & { label: string })[]
        ).map((r) => [r.label, shareCells(r)]),
      );
      const rows = rowsOf(md, title);
      assert.equal(rows.length, expected.size, `${title}: one row per group`);
      for (const [label, ...cells] of rows)
        assert.deepEqual(cells, expected.get(label), `${title}: ${label}`);
    }

    const records = get('SELECT count(*) AS n FROM adult').n;
    const missing = (f: string) => get(`SELECT count(*) - count("${f}") AS n FROM adult`).n;
    assert.deepEqual(
      rowsOf(md, 'Missing values per column'),
      ADULT_FIELDS.map((f) => [
        f,
        count(missing(f)),
        count(records),
        records ? pct(missing(f) / records) : '–',
      ]),
    );

    assert.deepEqual(
      rowsOf(md, 'Data quality: quarantined records'),
      all(
        'SELECT reason, count(*), source, min(line) FROM quarantine ' +
          'GROUP BY reason ORDER BY count(*) DESC, min(source_no), min(line)',
      ).map(([reason, n, src, line]) => [reason, count(n as number), src, String(line)]),
    );

    const profile = new Map(rowsOf(md, 'Profile of table adult').map((row) => [row[0], row]));
    for (const f of adult.tables[0].fields) {
      const c = `"${f.name}"`;
      const s = get(`SELECT count(DISTINCT ${c}) AS d, min(${c}) AS lo, max(${c}) AS hi, avg(${c}) AS mean,
        count(*) - count(${c}) AS missing FROM adult`);
      const row = profile.get(f.name)!;
      assert.deepEqual(row.slice(2, 4), [count(s.missing), count(s.d)], f.name);
      if (f.type === 'integer') {
        const mean = s.mean.toLocaleString('en-US', { maximumFractionDigits: 2 });
        assert.deepEqual(row.slice(4, 7), [count(s.lo), count(s.hi), mean], f.name);
      } else {
        const [top] = all(
          `SELECT ${c}, count(*) FROM adult WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
        );
        assert.equal(row[7], `${top[0]} (${count(top[1] as number)})`, f.name);
      }
    }
  } finally {
    db.close();
  }
}

test(
  'census-etl report writes report.html and report.md; every number in ' + 'them matches SQL over the tables',
  () => {
    assert.equal(load.code, 0, load.stderr);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /report written: .*report\.html and .*report\.md/);
    const md = readFileSync(path.join(outDir, 'report.md'), 'utf8');
    assert.ok(
      md.includes(
        '**Complete: 48,845 of 48,845 records read (100%); ' +
          '48,837 loaded, 5 quarantined, 3 blank, comment or header lines skipped.**',
      ),
    );
    assertReportMatches(md, dbFile);
    // A few figures as a person would check them against the published dataset.
    assert.match(md, /\| Bachelors \| 8,024 \| 3,312 \| 41\.3% \|/);
    assert.match(md, /\| 48,837 \| 11,686 \| 23\.9% \|/);
    assert.ok(
      md.includes(
        'Highest: Prof-school (74.0% of records, 73.8% of people (weighted by fnlwgt)); ' +
          'lowest: Preschool (1.2% of records, 1.0% of people (weighted by fnlwgt)).',
      ),
    );
    assert.deepEqual(rowsOf(md, 'Profile of table adult')[0], [
      'age',
      'integer',
      '0',
      '74',
      '17',
      '90',
      '38.64',
      '',
    ]);
    for (const [, file] of md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g))
      assert.match(readFileSync(path.join(outDir, file), 'utf8'), /^<svg /);
  },
);

test('report on a database that does not exist is a usage error (exit 2)', () => {
  const r = runCli(['report', '--db', path.join(dir, 'nope.db'), '--out', path.join(dir, 'nope')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no database at .*nope\.db/);
  assert.equal(existsSync(path.join(dir, 'nope')), false);
});

test(
  'in headless Chromium the page loads with no errors and no network, every chart has a size, ' +
    'and tables equal report.md',
  async (t) => {
    if (!requireTool(t, 'chromium')) return;
    assert.equal(report.code, 0, report.stderr);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const errors: string[] = [];
      const fetched: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => r.url().startsWith('file:') || fetched.push(r.url()));
      await page.goto(`file://${path.join(outDir, 'report.html')}`, { waitUntil: 'load' });

      assert.deepEqual(errors, []);
      assert.deepEqual(fetched, [], 'the report is self-contained');
      const charts = await page.locator('figure svg').all();
      assert.equal(charts.length, 7 + 1 + 15, 'seven share charts, missing values, and one per field');
      for (const chart of charts) {
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 50, `chart size ${JSON.stringify(box)}`);
        assert.ok((await chart.locator('path, rect').count()) > 3, 'the chart has marks');
      }

      const md = readFileSync(path.join(outDir, 'report.md'), 'utf8');
      const mdTables = parts(md).flatMap((p) => p.tables);
      const htmlTables = await page.$$eval('table', (tables) =>
        tables.map((tb) => [...tb.rows].map((r) => [...r.cells].map((c) => c.textContent ?? ''))),
      );
      assert.deepEqual(htmlTables, mdTables);

      // The counts behind each share chart are on the chart itself: "label (n=records)".
      const education = await page.locator('#share_by_education svg text').allTextContents();
      for (const [label, records] of rowsOf(md, 'By education'))
        assert.ok(education.includes(`${label} (n=${records})`), `${label} (n=${records}) on the chart`);

      const shots = path.join(ROOT, 'test-output', 'report');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'report.png'), fullPage: true });
      assert.ok(readFileSync(path.join(shots, 'report.png')).length > 50_000);
    } finally {
      await browser.close();
    }
  },
);

test(
  'mid-run, the report says how much it covers, matches what ' +
    'is loaded, and the load goes on undisturbed',
  async () => {
    const mid = tempDir();
    const midDb = path.join(mid, 'census.db');
    const log = path.join(mid, 'log');
    const batches = () => {
      if (!existsSync(midDb)) return 0;
      const db = new Database(midDb, { readonly: true });
      try {
        // The file can exist before its schema does.
        const created = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'batches'").pluck().get();
        return created ? (db.prepare('SELECT count(*) FROM batches').pluck().get() as number) : 0;
      } finally {
        db.close();
      }
    };
    // One batch a second: the report runs between two of them.
    const child = startCli(['--db', midDb, '--log', log, '--data-dir', DATA_DIR, '--every', '1']);
    const exited = finished(child);
    let during: string;
    try {
      for (let waited = 0; batches() < 2; waited += 100) {
        assert.ok(waited < 20_000, 'the load committed two batches within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      during = (await reportOf(midDb, path.join(mid, 'during'))).md;
    } finally {
      child.kill('SIGTERM');
    }
    const stopped = await exited;
    assert.equal(stopped.code, 143, stopped.stderr);

    const partial = during.match(
      /\*\*Partial: .* ([\d,]+) of 48,845 records read \(([\d.]+)%\); ([\d,]+) loaded/,
    );
    assert.ok(partial, 'the report says it is partial and how much it covers');
    assert.ok(Number(partial[2]) > 0 && Number(partial[2]) < 100);
    // The figures agree with the coverage line (one snapshot: see the test that commits a batch meanwhile).
    const loaded = partial[3];
    assert.equal(rowsOf(during, 'Overall')[0][0], loaded);
    const bySex = rowsOf(during, 'By sex').reduce((n, r) => n + Number(r[1].replaceAll(',', '')), 0);
    assert.equal(count(bySex), loaded);

    // Stopped mid-way, the database holds still: every number checks out exactly.
    const after = (await reportOf(midDb, path.join(mid, 'after'))).md;
    assert.match(after, /\*\*Partial: /);
    assertReportMatches(after, midDb);

    // The load resumes and finishes as if no report had been taken.
    const resumed = runCli(['--unthrottled', '--db', midDb, '--log', log, '--data-dir', DATA_DIR]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const db = new Database(midDb, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM adult').pluck().get(), 48837);
    db.close();
  },
);
