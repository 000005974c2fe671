/**
 * SQLite's schema on open: created for a new database, migrated step by step from an older
 * census-etl's, refused when newer or not as this release defines it. The version is PRAGMA
 * user_version; the views are derived, so they are recreated whenever they differ.
 */
import type Database from 'better-sqlite3';
import type { Dataset } from '../../dataset/model.ts';
import { UsageError } from '../../shared/errors.ts';
import { LOCAL_RELEASE } from '../../publish/results.ts';
import { q } from '../../shared/sql.ts';
import { SCHEMA_VERSION, datasetRow, tablesSql, viewsSql } from '../schema.ts';

type DB = Database.Database;
type Definition = { name: string; sql: string };

/** Definitions compare without their layout: SQLite keeps the text as it was given. */
const layoutless = (sql: string) => sql.replace(/\s+/g, ' ').trim();
const same = (a: string | undefined, b: string) => a !== undefined && layoutless(a) === layoutless(b);
const definitions = (db: DB, type: 'table' | 'view') =>
  new Map(
    (db.prepare('SELECT name, sql FROM sqlite_schema WHERE type = ?').all(type) as Definition[]).map((d) => [
      d.name,
      d.sql,
    ]),
  );

/**
 * Replaces a table by this release's definition of it, its rows (and rowids) copied by `select`
 * (which reads the old rows from `old`): the definition text stays exactly ours, unlike a RENAME.
 */
function replaceTable(db: DB, sql: string, name: string, columns: string, select: (old: string) => string) {
  const old = `temp.${name}_before_upgrade`;
  db.exec(`CREATE TABLE ${old} AS SELECT rowid AS rowid_, * FROM ${q(name)}; DROP TABLE ${q(name)};`);
  db.exec(sql);
  db.exec(`INSERT INTO ${q(name)} (${columns}) ${select(old)}; DROP TABLE ${old};`);
}

const definition = (dataset: Dataset, name: string) =>
  tablesSql('sqlite', dataset).find((t) => t.name === name)!.sql;

/** From each version to the next. Version 1 is the first release, which kept no version. */
const MIGRATIONS: Record<number, (db: DB, dataset: Dataset) => void> = {
  1: (db, dataset) => {
    // Quarantined lines were keyed by file name: two sources of one name cannot be told apart.
    const twice = db.prepare('SELECT name FROM sources GROUP BY name HAVING count(*) > 1').pluck().get();
    if (twice) {
      throw new UsageError(
        `database ${db.name} was made by an older census-etl from two sources named ${twice}, ` +
          'whose quarantined lines it cannot tell apart: load them into a new --db',
      );
    }
    replaceTable(
      db,
      definition(dataset, 'quarantine'),
      'quarantine',
      'source_no, source, line, raw, reason',
      (old) =>
        `SELECT s.no, q.source, q.line, q.raw, q.reason FROM ${old} q JOIN sources s ON s.name = q.source`,
    );
    // Its runs were local runs: their id is their start time and "local".
    const kept = 'started_at, finished_at, published_at, published_to';
    replaceTable(
      db,
      definition(dataset, 'run'),
      'run',
      `id, run_id, release, ${kept}`,
      (old) =>
        `SELECT id, strftime('%Y%m%dT%H%M%SZ', started_at) || '-${LOCAL_RELEASE}', '${LOCAL_RELEASE}', ` +
        `${kept} FROM ${old}`,
    );
  },
  // Versions 1 and 2 loaded Adult only, into table adult: the dataset becomes a descriptor.
  2: (db, dataset) => {
    const table = dataset.tables.length === 1 ? dataset.tables[0] : null;
    if (dataset.name !== 'adult' || table?.name !== 'adult') {
      throw new UsageError(
        `database ${db.name} holds the Adult dataset (made by an older census-etl), not dataset ` +
          `${dataset.name}: load it into a new --db`,
      );
    }
    const fields = [...table.fields.map((f) => f.name), table.lineage.source, table.lineage.line].map(q);
    const list = fields.join(', ');
    replaceTable(
      db,
      definition(dataset, 'adult'),
      'adult',
      `rowid, ${list}`,
      (old) => `SELECT rowid_, ${list} FROM ${old}`,
    );
    const counts =
      'no, name, uri, sha256, bytes, lines, next_offset, next_line, loaded, quarantined, skipped';
    replaceTable(
      db,
      definition(dataset, 'sources'),
      'sources',
      `resource, records, ${counts}`,
      (old) => `SELECT 'adult', lines, ${counts} FROM ${old}`,
    );
    db.exec(definition(dataset, 'dataset'));
  },
};

/** The dataset a database was made for, as kept in it. */
export function readDatasetOf(db: DB): Dataset {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    throw new UsageError(
      `database ${db.name} has schema version ${version || 1}, this census-etl reads ${SCHEMA_VERSION}: ` +
        '`census-etl run` or `census-etl publish` on it upgrades it',
    );
  }
  const model = db.prepare('SELECT model FROM dataset').pluck().get() as string;
  return JSON.parse(model) as Dataset;
}

/**
 * Brings the schema to SCHEMA_VERSION for `dataset` (null: the one it was made for) and returns
 * the dataset: creates it, or migrates an older one; refuses a newer one, and tables that are
 * not as this release defines them for the dataset.
 */
export function upgradeSchema(db: DB, given: Dataset | null): Dataset {
  let version = db.pragma('user_version', { simple: true }) as number;
  const tables = definitions(db, 'table');
  if (version === 0 && tables.has('sources')) version = 1;
  if (version > SCHEMA_VERSION) {
    throw new UsageError(
      `database ${db.name} was made by a newer census-etl (schema version ${version}; this one knows ` +
        `${SCHEMA_VERSION}): use that release, or load into a new --db`,
    );
  }
  const kept = version === SCHEMA_VERSION ? readDatasetOf(db) : null;
  const dataset = given ?? kept;
  if (!dataset) throw new UsageError(`database ${db.name} holds no dataset yet: census-etl run loads one`);
  const from = version;
  if (version === 0) for (const t of tablesSql('sqlite', dataset)) db.exec(t.sql);
  for (; version > 0 && version < SCHEMA_VERSION; version++) MIGRATIONS[version](db, dataset);
  if (!kept) {
    db.prepare('INSERT INTO dataset (id, name, descriptor, model) VALUES (1, ?, ?, ?)').run(
      ...datasetRow(dataset),
    );
  }
  const now = definitions(db, 'table');
  for (const t of tablesSql('sqlite', dataset)) {
    if (!same(now.get(t.name), t.sql)) {
      throw new UsageError(
        `database ${db.name}: its table ${t.name} is not the one this census-etl defines for dataset ` +
          `${dataset.name} (schema version ${SCHEMA_VERSION}): load into a new --db`,
      );
    }
  }
  const views = viewsSql(dataset);
  const existing = definitions(db, 'view');
  if (views.some((v) => !same(existing.get(v.name), v.sql))) {
    // Ours only: views a user made beside them stay (unless they read ours: SQLite checks at use).
    const ours = new Set([...views, ...(kept ? viewsSql(kept) : [])].map((v) => v.name));
    if (from > 0 && from < 3) for (const name of existing.keys()) ours.add(name); // older releases' own
    for (const name of ours) db.exec(`DROP VIEW IF EXISTS ${q(name)}`);
    for (const v of views) db.exec(v.sql);
  }
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  return dataset;
}
