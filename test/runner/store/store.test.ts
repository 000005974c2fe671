/**
 * The SQLite store: schema versions (PRAGMA user_version; databases of the first release and of
 * version 2, Adult only, are migrated, one of a newer release or with tables unlike the dataset's
 * is refused with what to do, views that differ from this release's are recreated), the run lock,
 * and rowids (source number, line) that stay apart for sources of one name (date partitions).
 * Through the real CLI, openStore, and runJob.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Field } from '../../../runner/dataset/model.ts';
import { resolveParams } from '../../../runner/params.ts';
import { runJob } from '../../../runner/pipeline.ts';
import { UsageError } from '../../../runner/shared/errors.ts';
import { createLog } from '../../../runner/shared/log.ts';
import { q, sqlString } from '../../../runner/shared/sql.ts';
import { SCHEMA_VERSION } from '../../../runner/store/schema.ts';
import { LockedError, openStore } from '../../../runner/store/store.ts';
import { DATA_DIR, runArgs, runCli } from '../../support/cli.ts';
import { adult, oneTable } from '../../support/dataset.ts';
import { tempDir } from '../../support/fixtures.ts';
import { mixedSources } from '../../support/generate.ts';

/** A complete database, loaded by this release. */
function loaded(dir = mixedSources(300, 100, tempDir())) {
  const db = path.join(dir, 'census.db');
  const args = [...runArgs({ dir, db, log: path.join(dir, 'log'), batchSize: 50 }), '--unthrottled'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return { db, run: () => runCli(args), status: () => runCli(['status', '--db', db, '--json']) };
}

function edit(file: string, sql: string) {
  const db = new Database(file);
  db.exec(sql);
  db.close();
}

const read = <T>(file: string, sql: string): T[] => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
};

/** Makes a database what the first release made: no version, quarantine keyed by file name, no run id. */
const FIRST_RELEASE = `
DROP TABLE dataset;
CREATE TEMP TABLE q AS SELECT source, line, raw, reason FROM quarantine;
DROP TABLE quarantine;
CREATE TABLE quarantine (
  source TEXT NOT NULL,
  line INTEGER NOT NULL,
  raw TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (source, line)
) STRICT;
INSERT INTO quarantine SELECT * FROM q;
CREATE TEMP TABLE r AS SELECT id, started_at, finished_at, published_at, published_to FROM run;
DROP TABLE run;
CREATE TABLE run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  published_at TEXT,
  published_to TEXT
) STRICT;
INSERT INTO run SELECT * FROM r;
PRAGMA user_version = 0;`;

test('a first-release database is migrated: run id and release, quarantine by source number, views', () => {
  const j = loaded();
  const quarantined = read(j.db, 'SELECT source_no, source, line, raw, reason FROM quarantine ORDER BY line');
  edit(j.db, FIRST_RELEASE);
  // Its views were older too: a changed one must not survive.
  edit(j.db, 'DROP VIEW share_overall; CREATE VIEW share_overall AS SELECT 1 AS stale;');

  const before = j.status();
  assert.equal(before.code, 2);
  assert.match(
    before.stderr,
    /has schema version 1, this census-etl reads 3: `census-etl run` or `census-etl publish` on it upgrades/,
  );

  const r = j.run();
  assert.equal(r.code, 0, r.stderr);
  const [{ started_at: startedAt }] = read<{ started_at: string }>(j.db, 'SELECT started_at FROM run');
  const id = `${startedAt.replace(/[-:]|\.\d+/g, '')}-local`;
  assert.match(r.stdout, new RegExp(`run ${id} \\(release local\\), resumed`));
  assert.deepEqual(read(j.db, 'PRAGMA user_version'), [{ user_version: SCHEMA_VERSION }]);
  assert.deepEqual(
    read(j.db, 'SELECT source_no, source, line, raw, reason FROM quarantine ORDER BY line'),
    quarantined,
  );
  assert.deepEqual(Object.keys(read<object>(j.db, 'SELECT * FROM share_overall')[0]), [
    'records',
    'over_50k',
    'share',
    'people',
    'weighted_share',
  ]);
  assert.equal(JSON.parse(j.status().stdout).run.id, id);
});

test("views unlike this release's are recreated; a table unlike them is refused, saying what to do", () => {
  const j = loaded();
  edit(
    j.db,
    'DROP VIEW missing_values; DROP VIEW share_by_sex; CREATE VIEW share_by_sex AS SELECT 1 AS stale;',
  );
  assert.equal(j.run().code, 0);
  assert.equal(read(j.db, 'SELECT * FROM share_by_sex').length, 2);
  assert.equal(read(j.db, 'SELECT * FROM missing_values').length, 15);

  edit(j.db, 'ALTER TABLE batches ADD COLUMN note TEXT');
  const r = j.run();
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /its table batches is not the one this census-etl defines for dataset adult \(schema version 3\): load/,
  );
});

test('a database of a newer release is refused (exit 2), and left as it is', () => {
  const j = loaded();
  edit(j.db, 'PRAGMA user_version = 99');
  const r = j.run();
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /made by a newer census-etl \(schema version 99; this one knows 3\): use that release, or load into a/,
  );
  assert.deepEqual(read(j.db, 'PRAGMA user_version'), [{ user_version: 99 }]);
});

test('a first-release database from two sources of one name cannot be migrated: it says to load anew', () => {
  const j = loaded();
  edit(j.db, `${FIRST_RELEASE}; UPDATE sources SET name = 'Adult.data'`);
  const r = j.run();
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /two sources named Adult\.data, whose quarantined lines it cannot tell apart: load them into a new --db/,
  );
});

test('a new database: schema version 3, the dataset it was made for kept in it', async () => {
  const file = path.join(tempDir(), 'census.db');
  const dataset = await adult();
  const store = await openStore(file, { dataset });
  try {
    assert.equal(store.kind, 'sqlite');
    assert.equal(store.dataset.name, 'adult');
  } finally {
    await store.close();
  }
  assert.deepEqual(read(file, 'PRAGMA user_version'), [{ user_version: SCHEMA_VERSION }]);
  assert.equal(SCHEMA_VERSION, 3);
  const [row] = read<{ id: number; name: string; model: string }>(
    file,
    'SELECT id, name, model FROM dataset',
  );
  assert.equal(row.name, 'adult');
  assert.deepEqual(JSON.parse(row.model).tables[0].fields.length, 15);
  // A reader takes the dataset from the database.
  const reader = await openStore(file, { dataset: null, readOnly: true });
  try {
    assert.equal(reader.dataset.tables[0].name, 'adult');
  } finally {
    await reader.close();
  }
});

test('a second open of a database in use is refused with a LockedError; free again once closed', async () => {
  const file = path.join(tempDir(), 'census.db');
  const dataset = await adult();
  const first = await openStore(file, { dataset });
  try {
    await assert.rejects(openStore(file, { dataset }), (e: Error) => {
      assert.ok(e instanceof LockedError);
      assert.match(
        e.message,
        /census\.db is in use by another census-etl run \(lock .*census\.db\.lock is held\)/,
      );
      return true;
    });
    // Readers take no lock.
    const reader = await openStore(file, { dataset: null, readOnly: true });
    await reader.close();
  } finally {
    await first.close();
  }
  const again = await openStore(file, { dataset });
  await again.close();
});

test("a database of one dataset is refused for another's tables, saying what to do", async () => {
  const file = path.join(tempDir(), 'census.db');
  const store = await openStore(file, { dataset: await adult() });
  await store.close();
  const other = await oneTable([{ name: 'id', type: 'integer' }], { name: 'things' });
  await assert.rejects(openStore(file, { dataset: other }), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(
      e.message,
      /census\.db: its table things is not the one this census-etl defines for dataset test/,
    );
    assert.match(e.message, /load into a new --db/);
    return true;
  });
  // A table of the same name with other fields is refused too.
  const impostor = await oneTable([{ name: 'age', type: 'integer' }], { name: 'adult' });
  await assert.rejects(openStore(file, { dataset: impostor }), /its table adult is not the one/);
  // Nothing was changed: Adult opens as before.
  const reopened = await openStore(file, { dataset: await adult() });
  await reopened.close();
});

/** Version 2's column of an Adult field: its type and its CHECK (bounds, or the domain as "=" chain). */
function v2Column(f: Field): string {
  const c = q(f.name);
  const check =
    f.type === 'integer'
      ? `${c} BETWEEN ${f.minimum} AND ${f.maximum}`
      : f.enum!.map((v) => `${c} = ${sqlString(String(v))}`).join(' OR ');
  return `${c} ${f.type === 'integer' ? 'INTEGER' : 'TEXT'} CHECK (${check})`;
}

/** The tables as version 2 (Adult only, one table adult, rowid = source number · 2^32 + line) made them. */
const v2Tables = (fields: readonly Field[]) => `
CREATE TABLE adult (
  ${fields.map(v2Column).join(',\n  ')},
  source TEXT NOT NULL,
  line INTEGER NOT NULL
) STRICT;
CREATE TABLE quarantine (
  source_no INTEGER NOT NULL,
  source TEXT NOT NULL,
  line INTEGER NOT NULL,
  raw TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (source_no, line)
) STRICT;
CREATE TABLE sources (
  no INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  uri TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  lines INTEGER NOT NULL,
  next_offset INTEGER NOT NULL DEFAULT 0,
  next_line INTEGER NOT NULL DEFAULT 1,
  loaded INTEGER NOT NULL DEFAULT 0,
  quarantined INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  CHECK (next_line - 1 = loaded + quarantined + skipped AND next_line - 1 <= lines)
) STRICT;
CREATE TABLE batches (
  batch INTEGER PRIMARY KEY,
  committed_at TEXT NOT NULL,
  loaded INTEGER NOT NULL,
  quarantined INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  ms REAL NOT NULL
) STRICT;
CREATE TABLE run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  run_id TEXT NOT NULL,
  release TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  published_at TEXT,
  published_to TEXT
) STRICT;
CREATE VIEW share_overall AS SELECT 1 AS stale;
CREATE VIEW adult_enriched AS SELECT * FROM adult;
PRAGMA user_version = 2;`;

const ROW = (age: number, cls: string) => [
  age,
  'Private',
  1000 + age,
  'HS-grad',
  9,
  'Divorced',
  'Sales',
  'Unmarried',
  'White',
  'Male',
  0,
  0,
  40,
  'Cuba',
  cls,
];

test(
  'a version-2 (Adult only) database is migrated: ' + 'rows and rowids kept, sources and dataset filled',
  async () => {
    const file = path.join(tempDir(), 'census.db');
    const dataset = await adult();
    const fields = dataset.tables[0].fields;
    const db = new Database(file);
    db.exec(v2Tables(fields));
    const insert = db.prepare(
      `INSERT INTO adult (rowid, ${[...fields.map((f) => q(f.name)), 'source', 'line'].join(', ')}) ` +
        `VALUES (${fields.map(() => '?, ').join('')}?, ?, ?)`,
    );
    // Adult.data: lines 1 and 3 loaded, 2 quarantined, 4 blank; Adult.test: its comment, then line 2.
    const rows: [number, string, number, (string | number)[]][] = [
      [0, 'Adult.data', 1, ROW(30, '<=50K')],
      [0, 'Adult.data', 3, ROW(50, '>50K')],
      [1, 'Adult.test', 2, ROW(40, '>50K')],
    ];
    for (const [no, source, line, values] of rows) insert.run(no * 2 ** 32 + line, ...values, source, line);
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    db.exec(`
    INSERT INTO quarantine
      VALUES (0, 'Adult.data', 2, 'x, y', 'expected 15 fields separated by ",", found 2');
    INSERT INTO sources
      (no, name, uri, sha256, bytes, lines, next_offset, next_line, loaded, quarantined, skipped)
    VALUES (0, 'Adult.data', 'https://example.com/Adult.data', '${a}', 400, 4, 400, 5, 2, 1, 1),
           (1, 'Adult.test', 'https://example.com/Adult.test', '${b}', 200, 2, 200, 3, 1, 0, 1);
    INSERT INTO batches VALUES (1, '2026-01-01T00:00:00.000Z', 3, 1, 2, 1.5);
    INSERT INTO run VALUES (1, '20260101T000000Z-local', 'local', '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:01.000Z', NULL, NULL);`);
    db.close();

    const store = await openStore(file, { dataset });
    try {
      const status = await store.status();
      assert.equal(status.complete, true);
      assert.deepEqual(
        status.sources.map((s) => [
          s.resource,
          s.name,
          s.lines,
          s.records,
          s.loaded,
          s.quarantined,
          s.skipped,
        ]),
        [
          ['adult', 'Adult.data', 4, 4, 2, 1, 1],
          ['adult', 'Adult.test', 2, 2, 1, 0, 1],
        ],
      );
      assert.equal((await store.checksums()).adult.rows, 3);
      assert.deepEqual(await store.claimRun({}), {
        id: '20260101T000000Z-local',
        release: 'local',
        startedAt: '2026-01-01T00:00:00.000Z',
        resumed: true,
      });
    } finally {
      await store.close();
    }
    assert.deepEqual(read(file, 'PRAGMA user_version'), [{ user_version: 3 }]);
    assert.deepEqual(
      read(file, 'SELECT rowid, source, line, age, class FROM adult ORDER BY rowid'),
      rows.map(([no, source, line, values]) => ({
        rowid: no * 2 ** 32 + line,
        source,
        line,
        age: values[0],
        class: values[14],
      })),
    );
    assert.deepEqual(read(file, 'SELECT no, resource, records FROM sources ORDER BY no'), [
      { no: 0, resource: 'adult', records: 4 },
      { no: 1, resource: 'adult', records: 2 },
    ]);
    assert.deepEqual(read(file, 'SELECT source_no, line FROM quarantine'), [{ source_no: 0, line: 2 }]);
    assert.deepEqual(read(file, 'SELECT id, name FROM dataset'), [{ id: 1, name: 'adult' }]);
    // The views are this release's: the stale ones are gone.
    assert.deepEqual(read(file, 'SELECT records, over_50k FROM share_overall'), [
      { records: 3, over_50k: 2 },
    ]);
  },
);

test('a version-2 database is refused for another dataset: it holds Adult', async () => {
  const file = path.join(tempDir(), 'census.db');
  const db = new Database(file);
  db.exec(v2Tables((await adult()).tables[0].fields));
  db.close();
  const other = await oneTable([{ name: 'id', type: 'integer' }], { name: 'things' });
  await assert.rejects(
    openStore(file, { dataset: other }),
    /holds the Adult dataset \(made by an older census-etl\), not dataset test: load it into a new --db/,
  );
  assert.deepEqual(read(file, 'PRAGMA user_version'), [{ user_version: 2 }], 'left as it was');
});

test(
  'two date partitions of the real Adult.data (same file name), batches of 1,630 crossing them: ' +
    'the run completes, every rowid is its source number · 2^32 + its line',
  async () => {
    const dir = tempDir();
    const partitions = ['2026/11/24', '2026/11/25'].map((day) => path.join(dir, 'raw', day, 'Adult.data'));
    for (const p of partitions) {
      mkdirSync(path.dirname(p), { recursive: true });
      copyFileSync(path.join(DATA_DIR, 'Adult.data'), p);
    }
    const file = path.join(dir, 'params.json');
    writeFileSync(file, JSON.stringify({ sources: partitions.map((uri) => ({ uri })), unthrottled: true }));
    const out = path.join(dir, 'out');
    const params = await resolveParams(
      file,
      { database: path.join(out, 'census.db'), log: path.join(out, 'census-etl.log') },
      { CENSUS_DATA_DIR: DATA_DIR },
    );
    assert.equal(params.batchSize, 1630);
    assert.equal(params.dataDir, null, 'the sources are the ones named');
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const outcome = await runJob(params, { log: createLog(params.log, quiet) });
    assert.equal(outcome.status.complete, true);
    const records = outcome.status.sources.map((s) => s.records);
    assert.deepEqual(records, [32_562, 32_562]);
    // 32,562 records: batch 20 holds the end of the first partition and the start of the second.
    assert.ok(outcome.load!.batches > 20);

    const db = new Database(params.database, { readonly: true });
    try {
      const perSource = db
        .prepare(
          'SELECT a.rowid / 4294967296 AS source_no, count(*) AS rows, ' +
            'sum(a.line = a.rowid % 4294967296) AS lines_match, count(DISTINCT a.line) AS lines ' +
            'FROM adult a GROUP BY source_no ORDER BY source_no',
        )
        .all();
      const sources = db.prepare('SELECT no, name, loaded FROM sources ORDER BY no').all() as {
        no: number;
        name: string;
        loaded: number;
      }[];
      assert.deepEqual(
        sources.map((s) => s.name),
        ['Adult.data', 'Adult.data'],
      );
      assert.deepEqual(
        perSource,
        sources.map((s) => ({ source_no: s.no, rows: s.loaded, lines_match: s.loaded, lines: s.loaded })),
      );
      // Both partitions hold the same file: the same lines, with the same values.
      const same = db
        .prepare(
          'SELECT count(*) FROM adult a JOIN adult b ON b.rowid = a.rowid + 4294967296 ' +
            'WHERE a.rowid < 4294967296 AND a.age IS b.age AND a.fnlwgt IS b.fnlwgt AND a.class IS b.class',
        )
        .pluck()
        .get();
      assert.equal(same, sources[0].loaded);
      assert.deepEqual(
        db.prepare('SELECT source_no, count(*) AS n FROM quarantine GROUP BY source_no').all(),
        [
          { source_no: 0, n: 4 },
          { source_no: 1, n: 4 },
        ],
      );
    } finally {
      db.close();
    }
  },
);
