/**
 * The store: where a run's rows, quarantine, checkpoints and record live, whichever database
 * that is. The pipeline sees only `Store`; `openStore` picks the destination from what
 * `--db` names (a postgres:// URL, else a SQLite file). Shared logic lives in tables.ts
 * (the run, the sources, status) and batch.ts (a batch's transaction), written once against
 * the small `Database` a destination provides.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Dataset, Value } from '../dataset/model.ts';
import { redact } from '../shared/redact.ts';

/** A source file as staged: what the database records of it when the run first sees it. */
export type SourceRecord = {
  /** Position in the load order over all tables, from 0: the key of its rows and quarantine. */
  no: number;
  /** The table (resource) it loads. */
  resource: string;
  /** File name, as stored in the lineage column. */
  name: string;
  uri: string;
  sha256: string;
  bytes: number;
  /** Physical lines, and records (a quoted field may hold line ends; the header counts). */
  lines: number;
  records: number;
};

/** Where a source's reading stands: the next record's byte offset and first line; counts. */
export type SourceProgress = {
  no: number;
  nextOffset: number;
  nextLine: number;
  loaded: number;
  quarantined: number;
  skipped: number;
};

export type Quarantined = { sourceNo: number; source: string; line: number; raw: string; reason: string };

/**
 * Rows of one source in one batch, packed as the table's packing says (dataset/packing.ts): row
 * r is line `lines[r]`, its packed fields are `packed[r]` and its loose values are
 * `values[r * width … (r + 1) * width)`, width being the count of loose fields.
 */
export type RowBlock = {
  table: string;
  sourceNo: number;
  source: string;
  lines: readonly number[];
  packed: ArrayLike<number>;
  values: readonly Value[];
};

/** A batch to commit: its rows, what it quarantined and skipped, and the checkpoint it moves. */
export type Batch = {
  rows: RowBlock[];
  quarantined: Quarantined[];
  skipped: number;
  progress: SourceProgress[];
  ms: number;
};

/** What a committed batch holds: rows a unique key refused move to quarantine (first one wins). */
export type Committed = { batch: number; loaded: number; quarantined: number; progress: SourceProgress[] };

/** Which run a database holds: its id (see results.ts), its release and when it started. */
export type RunIdentity = { id: string; release: string; startedAt: string; resumed: boolean };

export type SourceStatus = Omit<SourceRecord, 'no'> & {
  linesRead: number;
  recordsRead: number;
  loaded: number;
  quarantined: number;
  skipped: number;
};

/** A quarantine reason and how many records it holds. */
export type ReasonCount = { reason: string; count: number };

export type Status = {
  sources: SourceStatus[];
  totals: {
    lines: number;
    linesRead: number;
    records: number;
    recordsRead: number;
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
  /** The most frequent reasons (at most TOP_REASONS); `otherReasons` counts the rest. */
  quarantineReasons: ReasonCount[];
  otherReasons: { reasons: number; records: number };
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

export { LockedError } from '../shared/errors.ts';

/** A run's access to its database; every method but `close` may fail with the database's own error. */
export interface Store {
  /** The database as messages show it (a path, or a URL without its password). */
  readonly display: string;
  readonly kind: 'sqlite' | 'postgres';
  /** The dataset the database was made for (the descriptor kept in it). */
  readonly dataset: Dataset;
  /** Records the sources on a new database; on an existing one, insists they are the same. */
  registerSources(sources: readonly SourceRecord[]): Promise<void>;
  readProgress(): Promise<SourceProgress[]>;
  /** Commits a batch with its checkpoint in one transaction; its number and what it holds. */
  writeBatch(batch: Batch): Promise<Committed>;
  /** The run this database belongs to: a new one takes `wanted.id`, an existing one keeps its own. */
  claimRun(wanted: { id?: string; release?: string }): Promise<RunIdentity>;
  /** A new id and start for a run that has written nothing yet, its id being another run's. */
  renewRun(run: RunIdentity): Promise<RunIdentity>;
  markFinished(): Promise<void>;
  markPublished(to: string): Promise<void>;
  status(): Promise<Status>;
  /** Rows of a read-only query (the report's views), all in one consistent snapshot. */
  read(queries: readonly string[]): Promise<Record<string, unknown>[][]>;
  /** Per table of the dataset: its rows and a SHA-256 of their content in rowid order. */
  checksums(): Promise<Record<string, { rows: number; sha256: string }>>;
  /** SQLite: a consistent copy of the database file at `target`, to publish; PostgreSQL: null. */
  snapshot(target: string): Promise<string | null>;
  close(): Promise<void>;
}

/** Whether `--db` names a PostgreSQL database (libpq's URL schemes) rather than a SQLite file. */
export const isPostgresUrl = (database: string) => /^postgres(ql)?:\/\//i.test(database);

/**
 * Where a run keeps its local files (the default log, the summary, the staged sources): a
 * SQLite file's own folder, or one per PostgreSQL database under out/ (named by a hash of its
 * URL without secrets), so that runs on different databases never share them.
 */
export function localFolderOf(database: string): string {
  if (!isPostgresUrl(database)) return path.dirname(database);
  let id = redact(database);
  if (URL.canParse(database)) {
    const url = new URL(database);
    url.password = '';
    url.searchParams.delete('password');
    id = url.href;
  }
  return path.join('out', `postgres-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`);
}

export type OpenOptions = {
  /** The dataset a new database is made for; null: a reader, which takes the database's own. */
  dataset: Dataset | null;
  /** Readers (status, report) never create, lock or upgrade. */
  readOnly?: boolean;
};

/** Opens the database `--db` names, taking the run lock unless read-only. */
export async function openStore(database: string, options: OpenOptions): Promise<Store> {
  if (isPostgresUrl(database)) {
    const { openPostgres } = await import('./postgres/store.ts');
    return openPostgres(database, options);
  }
  const { openSqlite } = await import('./sqlite/store.ts');
  return openSqlite(database, options);
}
