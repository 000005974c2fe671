/**
 * Store: the SQLite schema, the batch-plus-checkpoint transaction, and the status queries.
 * A batch's rows and the checkpoint that records it commit together or not at all, so a
 * run killed at any instant resumes exactly after its last committed batch.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { COLUMNS } from '../dataset/adult.ts';
import { UsageError } from '../shared/errors.ts';
import { LOCAL_RELEASE, runId } from '../publish/results.ts';
import { rowInserter, type RowBlock } from '../shared/rows.ts';
import type { StagedSource } from '../extract/sources.ts';
import { q, sqlString } from '../shared/sql.ts';
import { VIEWS } from '../insights/views.ts';

export type DB = Database.Database;

function columnDdl(c: (typeof COLUMNS)[number]): string {
  // A chain of "=" rather than IN (...): SQLite evaluates an IN list in a CHECK by building
  // a temporary index per row, which made inserts 4x slower (npm run bench).
  const check =
    c.kind === 'integer'
      ? `${q(c.name)} BETWEEN ${c.min} AND ${c.max}`
      : c.domain.map((v) => `${q(c.name)} = ${sqlString(v)}`).join(' OR ');
  return `${q(c.name)} ${c.kind === 'integer' ? 'INTEGER' : 'TEXT'} CHECK (${check})`;
}

/**
 * The schema's version, in PRAGMA user_version. A release that changes a table bumps it and
 * adds the step from the previous version to MIGRATIONS.
 */
export const SCHEMA_VERSION = 2;

/** The tables, each defined as SQLite keeps it in sqlite_schema (compared on every open). */
const TABLES: readonly { name: string; sql: string }[] = [
  {
    name: 'adult',
    sql: `CREATE TABLE adult (
  ${COLUMNS.map(columnDdl).join(',\n  ')},
  source TEXT NOT NULL,
  line INTEGER NOT NULL
) STRICT`,
  },
  // Keyed by the source's number: two sources may have the same file name (date partitions).
  {
    name: 'quarantine',
    sql: `CREATE TABLE quarantine (
  source_no INTEGER NOT NULL,
  source TEXT NOT NULL,
  line INTEGER NOT NULL,
  raw TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (source_no, line)
) STRICT`,
  },
  // One row per source, fixed when the run begins: a resumed run must read the same bytes.
  // The counters and the cursor (next_offset, next_line) move with each batch.
  {
    name: 'sources',
    sql: `CREATE TABLE sources (
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
) STRICT`,
  },
  // The checkpoint log: one row per committed batch.
  {
    name: 'batches',
    sql: `CREATE TABLE batches (
  batch INTEGER PRIMARY KEY,
  committed_at TEXT NOT NULL,
  loaded INTEGER NOT NULL,
  quarantined INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  ms REAL NOT NULL
) STRICT`,
  },
  // The run this database belongs to, fixed when it is created: a resumed run keeps its id.
  {
    name: 'run',
    sql: `CREATE TABLE run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  run_id TEXT NOT NULL,
  release TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  published_at TEXT,
  published_to TEXT
) STRICT`,
  },
];

export type Quarantined = { sourceNo: number; source: string; line: number; raw: string; reason: string };
export type SourceProgress = {
  no: number;
  nextOffset: number;
  nextLine: number;
  loaded: number;
  quarantined: number;
  skipped: number;
};
/** A batch to commit: its rows in blocks (rows.ts), and what else the batch read. */
export type Batch = {
  rows: RowBlock[];
  rowCount: number;
  quarantined: Quarantined[];
  skipped: number;
  progress: SourceProgress[];
  ms: number;
};

export class LockedError extends Error {}

/**
 * Opens (creating if needed) the database, and takes the run lock: a SQLite exclusive lock
 * on a side file, which the kernel releases when the process dies however it dies.
 */
export function openStore(file: string): { db: DB; close: () => void } {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const lock = new Database(`${file}.lock`, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch {
    lock.close();
    throw new LockedError(
      `database ${file} is in use by another census-etl run (lock ${file}.lock is held); ` +
        'wait for it or stop it',
    );
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL survives a killed process with every committed batch (only power loss can
  // drop the last commits, and the checkpoint goes with them).
  db.pragma('synchronous = NORMAL');
  // The batch whose commit fills the WAL copies it into the database (and syncs twice): every
  // 1,000 pages (SQLite's default), one unthrottled batch in 18 took 10-20 ms instead of 4.
  // Every 8,000 pages (32 MB), one in about 145: the per-batch p99 stays low (npm run bench).
  db.pragma('wal_autocheckpoint = 8000');
  const close = () => {
    db.close();
    lock.close();
  };
  try {
    // One transaction: a killed run never leaves half a schema, and the WAL stays small.
    db.transaction(() => upgradeSchema(db))();
  } catch (e) {
    close();
    throw e;
  }
  return { db, close };
}

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
 * Replaces a table by this release's definition of it, its rows copied by `select` (which
 * reads the old rows from `old`): the definition text stays exactly ours, unlike a RENAME.
 */
function replaceTable(db: DB, name: string, columns: string, select: (old: string) => string): void {
  const old = `temp.${name}_before_upgrade`;
  db.exec(`CREATE TABLE ${old} AS SELECT * FROM ${name}; DROP TABLE ${name};`);
  db.exec(TABLES.find((t) => t.name === name)!.sql);
  db.exec(`INSERT INTO ${name} (${columns}) ${select(old)}; DROP TABLE ${old};`);
}

/** From each version to the next. Version 1 is the first release, which kept no version. */
const MIGRATIONS: Record<number, (db: DB) => void> = {
  1: (db) => {
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
      'quarantine',
      'source_no, source, line, raw, reason',
      (old) =>
        `SELECT s.no, q.source, q.line, q.raw, q.reason FROM ${old} q JOIN sources s ON s.name = q.source`,
    );
    // Its runs were local runs: their id is their start time and "local".
    const kept = 'started_at, finished_at, published_at, published_to';
    replaceTable(
      db,
      'run',
      `id, run_id, release, ${kept}`,
      (old) =>
        `SELECT id, strftime('%Y%m%dT%H%M%SZ', started_at) || '-${LOCAL_RELEASE}', '${LOCAL_RELEASE}', ` +
        `${kept} FROM ${old}`,
    );
  },
};

/**
 * Brings the schema to SCHEMA_VERSION: creates it, or migrates an older one step by step;
 * refuses a newer one, and tables that are not as this release defines them. The views are
 * derived, so they are recreated whenever they differ from this release's.
 */
function upgradeSchema(db: DB): void {
  let version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0 && definitions(db, 'table').has('sources')) version = 1;
  const newer = version > SCHEMA_VERSION;
  if (newer) {
    throw new UsageError(
      `database ${db.name} was made by a newer census-etl (schema version ${version}; this one knows ` +
        `${SCHEMA_VERSION}): use that release, or load into a new --db`,
    );
  }
  if (version === 0) for (const t of TABLES) db.exec(t.sql);
  for (; version > 0 && version < SCHEMA_VERSION; version++) MIGRATIONS[version](db);
  const tables = definitions(db, 'table');
  for (const t of TABLES) {
    if (!same(tables.get(t.name), t.sql)) {
      throw new UsageError(
        `database ${db.name}: its table ${t.name} is not the one this census-etl defines (schema version ` +
          `${SCHEMA_VERSION}): load into a new --db`,
      );
    }
  }
  const views = definitions(db, 'view');
  if (VIEWS.some((v) => !same(views.get(v.name), v.sql))) {
    for (const v of VIEWS) db.exec(`DROP VIEW IF EXISTS ${v.name}`);
    for (const v of VIEWS) db.exec(v.sql);
  }
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** For readers that do not upgrade (status, report): a database of another version is refused. */
export function assertSchema(db: DB): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    throw new UsageError(
      `database ${db.name} has schema version ${version || 1}, this census-etl reads ${SCHEMA_VERSION}: ` +
        '`census-etl run` or `census-etl publish` on it upgrades it',
    );
  }
}

/** Records the sources on a new database; on an existing one, insists they are the same. */
export function registerSources(db: DB, staged: readonly StagedSource[]): void {
  const known = db.prepare('SELECT no, name, uri, sha256 FROM sources ORDER BY no').all() as Pick<
    StagedSource,
    'no' | 'name' | 'uri' | 'sha256'
  >[];
  if (known.length === 0) {
    const insert = db.prepare(
      'INSERT INTO sources (no, name, uri, sha256, bytes, lines) VALUES (?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const s of staged) insert.run(s.no, s.name, s.uri, s.sha256, s.bytes, s.lines);
    })();
    return;
  }
  const same =
    known.length === staged.length &&
    known.every((k, i) => k.sha256 === staged[i].sha256 && k.name === staged[i].name);
  if (!same) {
    const was = known.map((k) => `${k.name} (${k.sha256.slice(0, 12)})`).join(', ');
    const now = staged.map((s) => `${s.name} (${s.sha256.slice(0, 12)})`).join(', ');
    throw new Error(
      `this database was loaded from ${was}; the sources now are ${now}. ` +
        'Use a new database (--db) to load different files',
    );
  }
}

/** Which run a database holds: its id (see results.ts), its release and when it started. */
export type RunIdentity = { id: string; release: string; startedAt: string; resumed: boolean };

/**
 * The run this database belongs to. A new database takes `wanted.id` (else a new id from the
 * time and the release); an existing one keeps its own, and refuses another id or release.
 */
export function claimRun(db: DB, wanted: { id?: string; release?: string }): RunIdentity {
  const known = db.prepare('SELECT run_id AS id, release, started_at AS startedAt FROM run').get() as
    Omit<RunIdentity, 'resumed'> | undefined;
  if (known) {
    const clash =
      (wanted.id !== undefined && wanted.id !== known.id && `--run-id ${wanted.id}`) ||
      (wanted.release !== undefined && wanted.release !== known.release && `release ${wanted.release}`);
    if (clash) {
      throw new UsageError(
        `database ${db.name} holds run ${known.id} (release ${known.release}), not ${clash}: ` +
          'use a new --db for a new run',
      );
    }
    return { ...known, resumed: true };
  }
  const release = wanted.release ?? LOCAL_RELEASE;
  const now = startingNow(release);
  const id = wanted.id ?? now.id;
  const insert = db.prepare('INSERT INTO run (id, run_id, release, started_at) VALUES (1, ?, ?, ?)');
  insert.run(id, release, now.startedAt);
  return { id, release, startedAt: now.startedAt, resumed: false };
}

/** A run of `release` that starts now: its start time, and the id made from it. */
function startingNow(release: string): { id: string; startedAt: string } {
  const startedAt = new Date();
  return { id: runId(startedAt, release), startedAt: startedAt.toISOString() };
}

/** A new id and start for a run that has written nothing yet, its id being another run's. */
export function renewRun(db: DB, run: RunIdentity): RunIdentity {
  const { id, startedAt } = startingNow(run.release);
  db.prepare('UPDATE run SET run_id = ?, started_at = ? WHERE id = 1').run(id, startedAt);
  return { ...run, id, startedAt };
}

export function readProgress(db: DB): SourceProgress[] {
  return db
    .prepare(
      'SELECT no, next_offset AS nextOffset, next_line AS nextLine, loaded, quarantined, skipped ' +
        'FROM sources ORDER BY no',
    )
    .all() as SourceProgress[];
}

/** Prepares the one transaction that writes a batch and moves the checkpoint. */
export function batchWriter(db: DB): (batch: Batch) => number {
  const insertRows = rowInserter(db);
  const quarantine = db.prepare(
    'INSERT INTO quarantine (source_no, source, line, raw, reason) VALUES (?, ?, ?, ?, ?)',
  );
  const progress = db.prepare(
    'UPDATE sources SET next_offset = ?, next_line = ?, loaded = ?, quarantined = ?, skipped = ? ' +
      'WHERE no = ?',
  );
  const log = db.prepare(
    'INSERT INTO batches (batch, committed_at, loaded, quarantined, skipped, ms) ' +
      "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ'), ?, ?, ?, ?)",
  );
  const nextBatch = db.prepare('SELECT coalesce(max(batch), 0) + 1 AS n FROM batches').pluck();

  const write = db.transaction((batch: Batch): number => {
    insertRows(batch.rows);
    for (const r of batch.quarantined) quarantine.run(r.sourceNo, r.source, r.line, r.raw, r.reason);
    for (const p of batch.progress)
      progress.run(p.nextOffset, p.nextLine, p.loaded, p.quarantined, p.skipped, p.no);
    const n = nextBatch.get() as number;
    log.run(n, batch.rowCount, batch.quarantined.length, batch.skipped, batch.ms);
    return n;
  });
  return (batch) => {
    try {
      return write(batch);
    } catch (e) {
      // SQLite says only "database or disk is full"; the user needs to know nothing was lost.
      if ((e as { code?: string }).code !== 'SQLITE_FULL') throw e;
      const n = nextBatch.get() as number;
      throw new Error(
        `database or disk full writing batch ${n} to ${db.name}: the batch was rolled back ` +
          `and the checkpoint stays at batch ${n - 1}; free space and run again to resume`,
      );
    }
  };
}

export const markFinished = (db: DB) =>
  db.prepare("UPDATE run SET finished_at = coalesce(finished_at, strftime('%Y-%m-%dT%H:%M:%fZ'))").run();
export const markPublished = (db: DB, to: string) =>
  db.prepare("UPDATE run SET published_at = strftime('%Y-%m-%dT%H:%M:%fZ'), published_to = ? ").run(to);

export type SourceStatus = {
  name: string;
  uri: string;
  sha256: string;
  bytes: number;
  lines: number;
  linesRead: number;
  loaded: number;
  quarantined: number;
  skipped: number;
};
export type Status = {
  sources: SourceStatus[];
  totals: {
    lines: number;
    linesRead: number;
    loaded: number;
    quarantined: number;
    skipped: number;
    percent: number;
  };
  batches: {
    count: number;
    lastAt: string | null;
    msP50: number | null;
    msP99: number | null;
    msMax: number | null;
  };
  quarantineReasons: { reason: string; count: number }[];
  run: {
    id: string | null;
    release: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    publishedAt: string | null;
    publishedTo: string | null;
  };
  complete: boolean;
};

/** The p-th percentile (nearest rank) of ascending numbers. */
export const percentile = (sorted: readonly number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

/** Progress as the database records it: what `status` prints and `summary.json` holds. */
export function readStatus(db: DB): Status {
  assertSchema(db);
  const sources = db
    .prepare(
      'SELECT name, uri, sha256, bytes, lines, next_line - 1 AS linesRead, loaded, quarantined, skipped ' +
        'FROM sources ORDER BY no',
    )
    .all() as SourceStatus[];
  const sum = (k: keyof SourceStatus) => sources.reduce((n, s) => n + (s[k] as number), 0);
  const lines = sum('lines');
  const linesRead = sum('linesRead');
  const ms = db.prepare('SELECT ms FROM batches ORDER BY ms').pluck().all() as number[];
  const none = { id: null, release: null, startedAt: null, finishedAt: null };
  const unpublished = { publishedAt: null, publishedTo: null };
  const run = (db
    .prepare(
      'SELECT run_id AS id, release, started_at AS startedAt, finished_at AS finishedAt, ' +
        'published_at AS publishedAt, published_to AS publishedTo FROM run',
    )
    .get() ?? { ...none, ...unpublished }) as Status['run'];
  // Reasons name the column and the value; grouped by column and fault, they stay few.
  const quarantineReasons = db
    .prepare('SELECT reason, count(*) AS count FROM quarantine GROUP BY reason ORDER BY count DESC, reason')
    .all() as Status['quarantineReasons'];
  return {
    sources,
    totals: {
      lines,
      linesRead,
      loaded: sum('loaded'),
      quarantined: sum('quarantined'),
      skipped: sum('skipped'),
      percent: lines ? Math.round((linesRead / lines) * 1000) / 10 : 0,
    },
    batches: {
      count: ms.length,
      lastAt: db.prepare('SELECT max(committed_at) FROM batches').pluck().get() as string | null,
      msP50: round(percentile(ms, 50)),
      msP99: round(percentile(ms, 99)),
      msMax: round(ms.at(-1) ?? null),
    },
    quarantineReasons,
    run,
    complete: sources.length > 0 && linesRead === lines,
  };
}
