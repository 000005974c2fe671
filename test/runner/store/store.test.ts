/**
 * Schema versions (PRAGMA user_version): a database of the first release is migrated, one of
 * a newer release or with tables unlike ours is refused with what to do, and views that differ
 * from this release's are recreated. Through the real CLI.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../../../runner/store/schema.ts';
import { runArgs, runCli } from '../../support/cli.ts';
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
