/**
 * The PostgreSQL destination: one session (session.ts) holding the run lock, the schema made or
 * checked on open (schema.ts), and the Store written once over its Database (database.ts). A
 * failure to connect that no retry mends (a wrong password, a missing database, TLS refused,
 * permission denied, a table of ours with another shape) is a UsageError (exit 2); one that may
 * pass (the server unreachable, the disk full, the connection lost) a retryable PostgresError.
 */
import type { Dataset } from '../../dataset/model.ts';
import { UsageError } from '../../shared/errors.ts';
import { redact, registerSecret } from '../../shared/redact.ts';
import { SqlStore } from '../sql-store.ts';
import type { Batch, Committed, OpenOptions, SourceProgress, Store } from '../store.ts';
import { PostgresDatabase } from './database.ts';
import { explainPostgresError, PostgresError, postgresError, TableShapeError } from './errors.ts';
import { readDatasetOf, upgradeSchema } from './schema.ts';
import { Session } from './session.ts';
import { postgresSettings, type PostgresSettings } from './settings.ts';

/**
 * Whether `batch` has committed already: its sources' cursors are where it moves them. Asked
 * after the connection was made again, as a retried batch's commit may have landed before the
 * connection was lost (its acknowledgement with it). Returns what it committed, or null.
 */
async function landedAlready(db: PostgresDatabase, batch: Batch): Promise<Committed | null> {
  if (!batch.progress.length) return null;
  const rows = await db.all<Record<string, number>>(
    'SELECT no, next_offset, next_line, loaded, quarantined, skipped FROM sources ORDER BY no',
  );
  const sources = new Map(rows.map((r) => [Number(r.no), r]));
  const there = batch.progress.every((p) => {
    const s = sources.get(p.no);
    return s !== undefined && Number(s.next_offset) === p.nextOffset && Number(s.next_line) === p.nextLine;
  });
  if (!there) return null;
  const [last] = await db.all<Record<string, number>>(
    'SELECT batch, loaded, quarantined FROM batches ORDER BY batch DESC LIMIT 1',
  );
  if (!last) return null;
  const progress: SourceProgress[] = batch.progress.map((p) => {
    const s = sources.get(p.no)!;
    return {
      no: p.no,
      nextOffset: Number(s.next_offset),
      nextLine: Number(s.next_line),
      loaded: Number(s.loaded),
      quarantined: Number(s.quarantined),
      skipped: Number(s.skipped),
    };
  });
  return {
    batch: Number(last.batch),
    loaded: Number(last.loaded),
    quarantined: Number(last.quarantined),
    progress,
  };
}

class PostgresStore extends SqlStore {
  /** The session's connection the last batch was written on. */
  private connection: number;

  constructor(
    private readonly database: PostgresDatabase,
    private readonly session: Session,
    dataset: Dataset,
  ) {
    super(database, dataset);
    this.connection = session.generation;
  }

  /** A batch retried on a new connection is not written twice (see landedAlready). */
  override async writeBatch(batch: Batch): Promise<Committed> {
    if (this.session.lost || this.session.generation !== this.connection) {
      const landed = await landedAlready(this.database, batch);
      this.connection = this.session.generation;
      if (landed) return landed;
    }
    return super.writeBatch(batch);
  }
}

/** While opening, a failure no retry mends is the user's to fix: a UsageError (exit 2). */
function atOpen(error: unknown, display: string): unknown {
  if (!(error instanceof PostgresError || error instanceof TableShapeError)) return error;
  const e = postgresError(error, display);
  return e.retryable ? e : new UsageError(e.message, { cause: error });
}

/**
 * Opens the database `url` names (libpq's settings: settings.ts), taking the run lock unless
 * read-only, and makes or checks its schema for `options.dataset` (readers take the database's).
 */
export async function openPostgres(url: string, options: OpenOptions): Promise<Store> {
  let settings: PostgresSettings;
  try {
    settings = postgresSettings(url);
  } catch (e) {
    throw new UsageError(explainPostgresError(e, redact(url)).message, { cause: e });
  }
  for (const secret of settings.secrets) registerSecret(secret);
  const readOnly = options.readOnly ?? false;
  let session: Session;
  try {
    session = await Session.open(settings, { lock: !readOnly, readOnly });
  } catch (e) {
    throw atOpen(e, settings.display);
  }
  try {
    const db = new PostgresDatabase(session);
    const dataset = readOnly
      ? await readDatasetOf(db)
      : await db.transaction(() => upgradeSchema(db, options.dataset));
    return new PostgresStore(db, session, dataset);
  } catch (e) {
    await session.close();
    throw atOpen(e, settings.display);
  }
}
