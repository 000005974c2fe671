/**
 * PostgreSQL's schema on open, in the connection's schema (the first of search_path): created
 * for a new database, refused when newer or when a table of ours exists with another shape, and
 * the views recreated when they differ from this release's. One transaction (the caller's).
 *
 * The version is a row of table census_etl_schema (id 1, version), not a COMMENT: any reader
 * can SELECT it, and setting it needs no ownership of the schema. Shapes are compared by what the
 * server makes of our own DDL: the expected tables and views are created as temporary ones
 * (under a savepoint rolled back after), so types, NOT NULLs, constraints and view texts are
 * compared in the server's words (format_type, pg_get_constraintdef, pg_get_viewdef).
 */
import type { Dataset } from '../../dataset/model.ts';
import { UsageError } from '../../shared/errors.ts';
import { q } from '../../shared/sql.ts';
import type { Database } from '../database.ts';
import { SCHEMA_VERSION, datasetRow, tablesSql, viewsSql } from '../schema.ts';
import { PostgresError, TableShapeError } from './errors.ts';

export const VERSION_TABLE = 'census_etl_schema';
const VERSION_SQL = `CREATE TABLE ${VERSION_TABLE} (
  id integer PRIMARY KEY CHECK (id = 1),
  version integer NOT NULL
)`;

/**
 * From each version to the next, as SQLite's. PostgreSQL came with version 3: no database of an
 * earlier version exists, and none is needed yet.
 */
const MIGRATIONS: Record<number, (db: Database, dataset: Dataset) => Promise<void>> = {};

/** Relations of the connection's schema by name: r table, p partitioned, v view, m, f… */
async function relations(db: Database): Promise<Map<string, string>> {
  const rows = await db.all<{ name: string; kind: string }>(
    'SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c ' +
      'WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())',
  );
  return new Map(rows.map((r) => [r.name, r.kind]));
}

/** A relation's oid: ours in the connection's schema, or a temporary one. */
async function oidOf(db: Database, name: string, temporary = false): Promise<string> {
  const [row] = await db.all<{ oid: string }>(
    'SELECT c.oid::text AS oid FROM pg_class c WHERE c.relname = ? AND c.relnamespace = ' +
      (temporary ? 'pg_my_temp_schema()' : '(SELECT oid FROM pg_namespace WHERE nspname = current_schema())'),
    [name],
  );
  return row.oid;
}

type Column = { name: string; type: string; notNull: boolean };
type Shape = { columns: Column[]; constraints: string[] };

async function shapeOf(db: Database, oid: string): Promise<Shape> {
  const columns = await db.all<Column>(
    'SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS "notNull" ' +
      'FROM pg_attribute WHERE attrelid = ?::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [oid],
  );
  const constraints = await db.all<{ def: string }>(
    'SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint ' +
      "WHERE conrelid = ?::oid AND contype IN ('c', 'u', 'p') ORDER BY 1",
    [oid],
  );
  return { columns, constraints: constraints.map((c) => c.def) };
}

const shown = (c: Column) => `${q(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`;
const clipped = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}…` : text);

/** What differs between a table as it is and as the dataset defines it, in words; null: nothing. */
export function shapeDifference(actual: Shape, wanted: Shape, dataset: string): string | null {
  const [a, w] = [actual.columns.map(shown), wanted.columns.map(shown)];
  const names = new Set(actual.columns.map((c) => c.name));
  for (let i = 0; i < Math.max(a.length, w.length); i++) {
    if (a[i] === w[i]) continue;
    if (a[i] === undefined) return `it lacks column ${w[i]}, which dataset ${dataset} defines`;
    if (w[i] === undefined) return `it has column ${a[i]}, which dataset ${dataset} does not define`;
    if (!names.has(wanted.columns[i].name))
      return `it lacks column ${w[i]}, which dataset ${dataset} defines`;
    return `its column ${i + 1} is ${a[i]} where dataset ${dataset} defines ${w[i]}`;
  }
  const missing = wanted.constraints.filter((c) => !actual.constraints.includes(c));
  if (missing.length) return `it lacks the constraint ${clipped(missing[0])} of dataset ${dataset}`;
  const extra = actual.constraints.filter((c) => !wanted.constraints.includes(c));
  if (extra.length) return `it has a constraint dataset ${dataset} does not define: ${clipped(extra[0])}`;
  return null;
}

/** `CREATE TABLE "name" (…)` or `CREATE VIEW "name" AS …` as a temporary one named `as`. */
function temporary(sql: string, as: string): string {
  const m = /^CREATE (TABLE|VIEW) (?:"(?:[^"]|"")*"|\w+)/.exec(sql);
  if (!m) throw new Error(`census-etl: not a CREATE TABLE or VIEW: ${sql.slice(0, 40)}`);
  return `CREATE TEMPORARY ${m[1]} ${as}${sql.slice(m[0].length)}`;
}

/**
 * Refuses (TableShapeError) the first existing table of ours not as `dataset` defines it (`held`:
 * the dataset the database holds, for the message); then tells whether the views differ from
 * this release's (a missing one, or one whose definition is not the same).
 */
async function compare(
  db: Database,
  dataset: Dataset,
  existing: Map<string, string>,
  held: string | null,
): Promise<boolean> {
  const views = viewsSql(dataset);
  const tables = tablesSql('postgres', dataset).filter((t) => existing.has(t.name));
  let viewsDiffer = views.some((v) => existing.get(v.name) !== 'v');
  await db
    .savepoint(async () => {
      for (const [i, t] of tables.entries()) {
        const kind = existing.get(t.name)!;
        if (kind !== 'r' && kind !== 'p') throw new TableShapeError(t.name, 'it is not a table');
        await db.run(temporary(t.sql, `census_etl_expected_${i}`));
        const wanted = await shapeOf(db, await oidOf(db, `census_etl_expected_${i}`, true));
        const difference = shapeDifference(await shapeOf(db, await oidOf(db, t.name)), wanted, dataset.name);
        if (difference) {
          const holds = held && held !== dataset.name ? `; the database holds dataset ${held}` : '';
          throw new TableShapeError(t.name, `${difference}${holds}`);
        }
      }
      for (const [i, v] of views.entries()) {
        if (viewsDiffer) break;
        // A view of ours reads the others by name: the real ones, compared each in its turn.
        await db.run(temporary(v.sql, `census_etl_expected_v${i}`));
        const [{ same }] = await db.all<{ same: boolean }>(
          'SELECT pg_get_viewdef(?::oid) = pg_get_viewdef(?::oid) AS same',
          [await oidOf(db, `census_etl_expected_v${i}`, true), await oidOf(db, v.name)],
        );
        viewsDiffer = !same;
      }
      throw ROLL_BACK;
    })
    .catch((e: unknown) => {
      if (e === ROLL_BACK) return;
      // An expected view that cannot be made beside ours: one of ours it reads is not as it should be.
      if (e instanceof PostgresError && VIEW_UNMADE.includes(e.code ?? '')) viewsDiffer = true;
      else throw e;
    });
  return viewsDiffer;
}

/** No such table, column or function: what a view reads is not there (42P01, 42703, 42883). */
const VIEW_UNMADE = ['42P01', '42703', '42883'];

/** Thrown to roll the savepoint of the temporary tables and views back. */
const ROLL_BACK = Symbol('roll back');

/** Drops our views (this release's and those of the dataset held) and makes this release's. */
async function recreateViews(db: Database, dataset: Dataset, held: Dataset | null): Promise<void> {
  const views = viewsSql(dataset);
  const ours = [...new Set([...views, ...(held ? viewsSql(held) : [])].map((v) => v.name))];
  try {
    // One statement: views that read each other go together.
    await db.run(`DROP VIEW IF EXISTS ${ours.map(q).join(', ')}`);
  } catch (e) {
    if ((e as PostgresError).code !== '2BP01') throw e;
    const detail = ((e as Error).cause as { detail?: string } | undefined)?.detail;
    const which = detail?.replace(/\n/g, '; ') ?? (e as Error).message;
    throw new UsageError(
      `${db.display}: this release must make census-etl's views again, and other objects read them ` +
        `(${which}): drop those, run again, then make them again`,
    );
  }
  for (const v of views) await db.run(v.sql);
}

async function versionOf(db: Database, existing: Map<string, string>): Promise<number> {
  if (!existing.has(VERSION_TABLE)) return 0;
  const [row] = await db.all<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`);
  return row ? Number(row.version) : 0;
}

async function keptDataset(db: Database): Promise<Dataset | null> {
  const [row] = await db.all<{ model: string }>('SELECT model FROM dataset');
  return row ? (JSON.parse(row.model) as Dataset) : null;
}

/** The dataset a database was made for, as kept in it (readers: status, report). */
export async function readDatasetOf(db: Database): Promise<Dataset> {
  const existing = await relations(db);
  const version = await versionOf(db, existing);
  if (version === 0) {
    throw new UsageError(`${db.display} holds no census-etl data yet: census-etl run loads one`);
  }
  if (version !== SCHEMA_VERSION) {
    throw new UsageError(
      `${db.display} has schema version ${version}, this census-etl reads ${SCHEMA_VERSION}: ` +
        (version > SCHEMA_VERSION
          ? 'use the newer release that made it'
          : '`census-etl run` on it upgrades it'),
    );
  }
  const dataset = await keptDataset(db);
  if (!dataset) throw new UsageError(`${db.display} holds no census-etl data yet: census-etl run loads one`);
  return dataset;
}

/**
 * Brings the schema to SCHEMA_VERSION for `given` (null: the dataset the database was made for)
 * and returns the dataset: creates what is missing on a new database; refuses a newer version,
 * and tables of our names that are not as the dataset defines them; recreates differing views.
 * A table of the right shape made beforehand (by a DBA, say) is taken as it is.
 */
export async function upgradeSchema(db: Database, given: Dataset | null): Promise<Dataset> {
  const existing = await relations(db);
  let version = await versionOf(db, existing);
  const from = version;
  if (version > SCHEMA_VERSION) {
    throw new UsageError(
      `${db.display} was made by a newer census-etl (schema version ${version}; this one knows ` +
        `${SCHEMA_VERSION}): use that release, or load into another database`,
    );
  }
  for (; version > 0 && version < SCHEMA_VERSION; version++) {
    const step = MIGRATIONS[version];
    if (!step) {
      throw new UsageError(
        `${db.display} has schema version ${version}, which no census-etl release made for PostgreSQL: ` +
          'load into another database',
      );
    }
    await step(db, (given ?? (await keptDataset(db)))!);
  }
  const kept = version === SCHEMA_VERSION ? await keptDataset(db) : null;
  const dataset = given ?? kept;
  if (!dataset) throw new UsageError(`${db.display} holds no dataset yet: census-etl run loads one`);
  const missing = tablesSql('postgres', dataset).find((t) => !existing.has(t.name));
  if (from > 0 && missing) {
    const held = kept ? `dataset ${kept.name}` : 'census-etl tables';
    throw new UsageError(
      `${db.display} holds ${held}, without the table ${missing.name} of dataset ${dataset.name}: ` +
        'load into another database',
    );
  }
  const viewsDiffer = await compare(db, dataset, existing, kept?.name ?? null);
  for (const t of tablesSql('postgres', dataset)) if (!existing.has(t.name)) await db.run(t.sql);
  if (!existing.has(VERSION_TABLE)) await db.run(VERSION_SQL);
  if (from !== SCHEMA_VERSION) {
    await db.run(
      `INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, ?) ` +
        'ON CONFLICT (id) DO UPDATE SET version = excluded.version',
      [SCHEMA_VERSION],
    );
  }
  if (!kept) {
    await db.run(
      'INSERT INTO dataset (id, name, descriptor, model) VALUES (1, ?, ?, ?)',
      datasetRow(dataset),
    );
  }
  if (viewsDiffer) await recreateViews(db, dataset, kept);
  return dataset;
}
