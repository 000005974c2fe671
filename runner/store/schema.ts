/**
 * The schema, from the dataset definition, in either database's SQL: one table per resource
 * (the fields in order, typed, with the constraints as NOT NULL, CHECKs and UNIQUEs, then the
 * lineage columns), census-etl's own tables, and the views (the dataset's and census-etl's).
 */
import type { Dataset, Field, Table, Value } from '../dataset/model.ts';
import { storedAs } from '../dataset/types.ts';
import { q, sqlString } from '../shared/sql.ts';
import { redact } from '../shared/redact.ts';

export type SqlKind = 'sqlite' | 'postgres';

/**
 * The schema's version (SQLite: PRAGMA user_version; PostgreSQL: census_etl_schema). A release
 * that changes a table bumps it and adds the step from the previous version to the migrations.
 */
export const SCHEMA_VERSION = 3;

const TYPES: Record<SqlKind, Record<Field['type'], string>> = {
  sqlite: {
    string: 'TEXT',
    any: 'TEXT',
    integer: 'INTEGER',
    year: 'INTEGER',
    number: 'REAL',
    boolean: 'INTEGER',
    date: 'TEXT',
    datetime: 'TEXT',
    time: 'TEXT',
  },
  postgres: {
    string: 'text',
    any: 'text',
    integer: 'bigint',
    year: 'bigint',
    number: 'double precision',
    boolean: 'boolean',
    date: 'date',
    datetime: 'timestamp',
    time: 'time',
  },
};

/** A constraint value as a SQL literal of its field's type. */
function literal(field: Field, v: Value | number | string): string {
  if (typeof v === 'string') return sqlString(v);
  if (typeof v === 'boolean') return field.type === 'boolean' ? String(v) : sqlString(String(v));
  return String(v);
}

/** A value of a field as a SQL literal, as the database stores it (SQLite: booleans as 0 and 1). */
export const valueSql = (kind: SqlKind, field: Field, v: Value) =>
  kind === 'sqlite' && typeof v === 'boolean' ? String(Number(v)) : literal(field, v);

/**
 * SQLite keeps dates and times as ISO-8601 text (its date functions' own form): the CHECK holds
 * a value to that form, which the cleaner writes (types.ts); PostgreSQL's types check themselves.
 */
function sqliteTemporal(field: Field, c: string): string | null {
  switch (field.type) {
    case 'date':
      return `${c} IS date(${c})`;
    case 'datetime':
      return `datetime(${c}) IS substr(${c}, 1, 19)`;
    case 'time':
      return `time(${c}) IS substr(${c}, 1, 8)`;
    case 'boolean':
      return `${c} IN (0, 1)`;
    default:
      return null;
  }
}

/** The CHECK of a field's constraints, or null: what the cleaner checks, the database checks again. */
function fieldCheck(kind: SqlKind, field: Field): string | null {
  const c = q(field.name);
  const checks: string[] = [];
  if (kind === 'sqlite') {
    const t = sqliteTemporal(field, c);
    if (t) checks.push(t);
  }
  // A chain of "=" rather than IN (...): SQLite evaluates an IN list in a CHECK by building a
  // temporary index per row, which made inserts 4x slower (npm run bench).
  if (field.enum) {
    const values = field.enum.filter((v) => v !== null);
    checks.push(values.map((v) => `${c} = ${valueSql(kind, field, v)}`).join(' OR '));
  }
  const { minimum: lo, maximum: hi, exclusiveMinimum: xlo, exclusiveMaximum: xhi } = field;
  if (lo !== null && hi !== null) checks.push(`${c} BETWEEN ${literal(field, lo)} AND ${literal(field, hi)}`);
  else if (lo !== null) checks.push(`${c} >= ${literal(field, lo)}`);
  else if (hi !== null) checks.push(`${c} <= ${literal(field, hi)}`);
  if (xlo !== null) checks.push(`${c} > ${literal(field, xlo)}`);
  if (xhi !== null) checks.push(`${c} < ${literal(field, xhi)}`);
  const length = kind === 'sqlite' ? 'length' : 'char_length';
  if (field.minLength !== null) checks.push(`${length}(${c}) >= ${field.minLength}`);
  if (field.maxLength !== null) checks.push(`${length}(${c}) <= ${field.maxLength}`);
  if (!checks.length) return null;
  return checks.length === 1 ? checks[0] : checks.map((x) => `(${x})`).join(' AND ');
}

/** A resource's table: rowid (PostgreSQL's own column), the fields, the lineage, the keys. */
export function dataTableSql(kind: SqlKind, table: Table): string {
  const types = TYPES[kind];
  const keyed = new Set(table.primaryKey);
  const columns = table.fields.map((f) => {
    const notNull = f.required || keyed.has(f.name) ? ' NOT NULL' : '';
    const check = fieldCheck(kind, f);
    return `${q(f.name)} ${types[f.type]}${notNull}${check ? ` CHECK (${check})` : ''}`;
  });
  const lineage = [
    `${q(table.lineage.source)} ${TYPES[kind].string} NOT NULL`,
    `${q(table.lineage.line)} ${TYPES[kind].integer} NOT NULL`,
  ];
  // A row's key is its place in the sources (rows.ts): a replayed batch cannot duplicate it.
  const rowid = kind === 'postgres' ? ['rowid bigint PRIMARY KEY'] : [];
  const keys = [
    table.primaryKey,
    ...table.uniqueKeys,
    ...table.fields.filter((f) => f.unique).map((f) => [f.name]),
  ]
    .filter((k) => k.length)
    .map((k) => `UNIQUE (${k.map(q).join(', ')})`);
  const body = [...rowid, ...columns, ...lineage, ...keys].join(',\n  ');
  return `CREATE TABLE ${q(table.name)} (\n  ${body}\n)${kind === 'sqlite' ? ' STRICT' : ''}`;
}

/** A row's key: its place in the sources, so a record loaded twice breaks it instead of duplicating. */
export const rowid = (sourceNo: number, line: number) => sourceNo * 2 ** 32 + line;

/** census-etl's own tables, written once with SQLite's types and translated for PostgreSQL. */
const OWN_TABLES = [
  // Keyed by the source's number: two sources may have the same file name (date partitions).
  `CREATE TABLE quarantine (
  source_no INTEGER NOT NULL,
  source TEXT NOT NULL,
  line INTEGER NOT NULL,
  raw TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (source_no, line)
)`,
  // One row per source, fixed when the run begins: a resumed run must read the same bytes.
  // The counters and the cursor (next_offset, next_line) move with each batch.
  `CREATE TABLE sources (
  no INTEGER PRIMARY KEY,
  resource TEXT NOT NULL,
  name TEXT NOT NULL,
  uri TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  lines INTEGER NOT NULL,
  records INTEGER NOT NULL,
  next_offset INTEGER NOT NULL DEFAULT 0,
  next_line INTEGER NOT NULL DEFAULT 1,
  loaded INTEGER NOT NULL DEFAULT 0,
  quarantined INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  CHECK (loaded + quarantined + skipped <= records AND next_line - 1 <= lines)
)`,
  // The checkpoint log: one row per committed batch.
  `CREATE TABLE batches (
  batch INTEGER PRIMARY KEY,
  committed_at TEXT NOT NULL,
  loaded INTEGER NOT NULL,
  quarantined INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  ms REAL NOT NULL
)`,
  // The run this database belongs to, fixed when it is created: a resumed run keeps its id.
  `CREATE TABLE run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  run_id TEXT NOT NULL,
  release TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  published_at TEXT,
  published_to TEXT
)`,
  // The dataset's descriptor as the run read it: readers (status, report) need nothing else.
  `CREATE TABLE dataset (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  descriptor TEXT NOT NULL,
  model TEXT NOT NULL
)`,
];

export function ownTablesSql(kind: SqlKind): { name: string; sql: string }[] {
  return OWN_TABLES.map((sql) => {
    const name = /^CREATE TABLE (\w+)/.exec(sql)![1];
    if (kind === 'sqlite') return { name, sql: `${sql} STRICT` };
    const pg = sql
      .replace(/\bINTEGER\b/g, 'bigint')
      .replace(/\bREAL\b/g, 'double precision')
      .replace(/\bTEXT\b/g, 'text');
    return { name, sql: pg };
  });
}

/** Every table of a dataset's database, in creation order. */
export const tablesSql = (kind: SqlKind, dataset: Dataset) => [
  ...dataset.tables.map((t) => ({ name: t.name, sql: dataTableSql(kind, t) })),
  ...ownTablesSql(kind),
];

/** Per table and field, in file order: records without a value, over all records. */
function missingValuesSql(dataset: Dataset): string {
  const rows = dataset.tables.flatMap((t) =>
    t.fields.map(
      (f) =>
        `SELECT ${sqlString(t.name)} AS ${q('table')}, ${sqlString(f.name)} AS ${q('column')}, ` +
        `count(*) - count(${q(f.name)}) AS missing, count(*) AS records, ` +
        `(count(*) - count(${q(f.name)})) * 1.0 / nullif(count(*), 0) AS share FROM ${q(t.name)}`,
    ),
  );
  return rows.join('\n  UNION ALL ');
}

export type ViewSql = { name: string; sql: string };

/** Every view, in an order where each comes after those it reads: the dataset's, then ours. */
export function viewsSql(dataset: Dataset): ViewSql[] {
  const view = (name: string, select: string) => ({ name, sql: `CREATE VIEW ${q(name)} AS\n  ${select}` });
  return [
    ...dataset.views.map((v) => view(v.name, v.sql)),
    view('missing_values', missingValuesSql(dataset)),
    view(
      'quarantine_by_reason',
      `SELECT source_no, source, reason, count(*) AS records, min(line) AS first_line
  FROM quarantine GROUP BY source_no, source, reason ORDER BY source_no, first_line`,
    ),
  ];
}

/** A field's value as its database column takes it from JavaScript. */
export const storable = (kind: SqlKind, type: Field['type'], v: Value): Value =>
  kind === 'sqlite' && storedAs(type) === 'boolean' && typeof v === 'boolean' ? Number(v) : v;

/**
 * The dataset as the `dataset` table keeps it: its descriptor and its model as JSON, every text
 * redacted (a file's signed URL is a credential; the database is published).
 */
export function datasetRow(dataset: Dataset): [string, string, string] {
  const redacted = (_: string, v: unknown) => (typeof v === 'string' ? redact(v) : v);
  return [
    dataset.name,
    JSON.stringify(dataset.descriptor, redacted),
    JSON.stringify({ ...dataset, descriptor: null }, redacted),
  ];
}
