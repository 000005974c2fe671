/**
 * The store's one connection to PostgreSQL: a node-postgres Client with the session census-etl
 * needs (its own type parsers, ISO dates, UTC, exact floats, the run lock), connected again
 * after it was lost, between transactions, so that a retried batch finds a working session.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { UsageError } from '../../shared/errors.ts';
import { LockedError } from '../../shared/errors.ts';
import { connectionLost, postgresError, PostgresError, serverRefusedTls } from './errors.ts';
import type { PostgresSettings } from './settings.ts';

/** bigint as a number when exact (counts, rowids, integer fields), else its text. */
const int8 = (text: string) => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
};
const asText = (text: string) => text;

/**
 * Parsers for this client only (pg's global ones stay as they are). Dates and times stay the
 * text PostgreSQL prints with DateStyle ISO (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.ffffff],
 * HH:MM:SS[.ffffff]): the form the cleaner writes and SQLite keeps, never a Date in a zone.
 */
const PARSERS: Record<number, (text: string) => unknown> = {
  20: int8,
  1700: Number, // numeric: sum() and avg() of integers, the views' `* 1.0 / …`
  1082: asText, // date
  1083: asText, // time
  1114: asText, // timestamp
  1184: asText, // timestamptz
  1266: asText, // timetz
};

const getTypeParser = (oid: number, format?: string): unknown =>
  (format === 'binary' ? undefined : PARSERS[oid]) ??
  (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
export const TYPE_PARSERS = { getTypeParser } as pg.CustomTypesConfig;

/**
 * Settings every session sets: dates as ISO, timestamptz shown in UTC, floats in their
 * shortest exact form (a server configured with extra_float_digits = 0 would round them).
 */
const SESSION_SQL = "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 1";

/**
 * The run lock's key: one per schema (advisory locks are per database already), the same for
 * every census-etl release. The first 8 bytes of SHA-256("census-etl\0" + schema), signed.
 */
export function lockKey(schema: string): bigint {
  const digest = createHash('sha256').update(`census-etl\0${schema}`).digest();
  return digest.readBigInt64BE(0);
}

/** Who holds the lock, as far as this role may see: "backend pid 123 (census-etl, since …)". */
async function holderOf(client: pg.Client, key: bigint): Promise<string> {
  const { rows } = await client
    .query(
      'SELECT l.pid, a.application_name AS app, a.backend_start::text AS since FROM pg_locks l ' +
        'LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = $1 AND l.granted ' +
        'AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) ' +
        'AND l.classid = $2::bigint::oid AND l.objid = $3::bigint::oid AND l.objsubid = 1',
      ['advisory', String(BigInt.asUintN(64, key) >> 32n), String(BigInt.asUintN(32, key))],
    )
    .catch(() => ({ rows: [] as Record<string, unknown>[] }));
  const [h] = rows;
  if (!h) return 'another session holds it';
  const what = [h.app, h.since && `since ${String(h.since)}`].filter(Boolean).join(', ');
  return `backend pid ${String(h.pid)} holds it${what ? ` (${what})` : ''}`;
}

export type SessionOptions = {
  /** Take the run lock (writers); readers never lock. */
  lock: boolean;
  /** Every transaction read-only (status, report). */
  readOnly: boolean;
};

export class Session {
  private client: pg.Client | null = null;
  /** Why the connection is gone; null while it is up. */
  private lostBy: unknown = null;
  /** Connections made so far: the store compares it to notice a new one. */
  generation = 0;
  /** The schema the tables are in (the first of search_path that exists). */
  schema = '';
  /** Set by the Database around a transaction: a connection lost inside one is not made again. */
  inTransaction = false;

  private constructor(
    private readonly settings: PostgresSettings,
    private readonly options: SessionOptions,
  ) {}

  /** Connects (TLS as the settings say), sets the session up and takes the run lock if asked. */
  static async open(settings: PostgresSettings, options: SessionOptions): Promise<Session> {
    const session = new Session(settings, options);
    await session.connect();
    return session;
  }

  get display(): string {
    return this.settings.display;
  }

  get lost(): boolean {
    return this.client === null || this.lostBy !== null;
  }

  /**
   * The client to run a statement on. A connection lost outside a transaction is made again
   * first (and the run lock taken again: LockedError if another run took it meanwhile); inside
   * one, the loss is the transaction's failure.
   */
  async use(): Promise<pg.Client> {
    if (!this.lost) return this.client!;
    if (this.inTransaction) {
      throw postgresError(this.lostBy ?? new Error('Connection terminated unexpectedly'), this.display);
    }
    await this.connect();
    return this.client!;
  }

  /** `error` as the store throws it; a lost connection is noted, to be made again. */
  failed(error: unknown): PostgresError {
    if (connectionLost(error) && this.client && this.lostBy === null) {
      this.lostBy = error;
      void this.client.end().catch(() => undefined);
    }
    return postgresError(error, this.display);
  }

  private async connect(): Promise<void> {
    const old = this.client;
    this.client = null;
    void old?.end().catch(() => undefined);
    let client: pg.Client;
    try {
      client = await this.attempt(this.settings.client).catch((e: unknown) => {
        // prefer and allow go on without TLS only when the server said it has none.
        if (this.settings.withoutTls && serverRefusedTls(e)) return this.attempt(this.settings.withoutTls);
        throw e;
      });
    } catch (e) {
      throw postgresError(e, this.display);
    }
    try {
      await client.query(
        this.options.readOnly ? `${SESSION_SQL}; SET default_transaction_read_only = on` : SESSION_SQL,
      );
      const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      const schema = rows[0].schema;
      if (schema === null && !this.options.readOnly) {
        throw new UsageError(
          `${this.display}: no schema to create the tables in (search_path names none that exists): ` +
            'create it, or set the role’s search_path (ALTER ROLE … SET search_path = …)',
        );
      }
      if (this.options.lock) await this.lock(client, schema!);
      this.schema = schema ?? '';
    } catch (e) {
      void client.end().catch(() => undefined);
      throw e instanceof UsageError || e instanceof LockedError ? e : postgresError(e, this.display);
    }
    this.client = client;
    this.lostBy = null;
    this.generation++;
  }

  /** A new client, connected; its errors (a dropped connection) mark the session lost, never crash. */
  private async attempt(config: pg.ClientConfig): Promise<pg.Client> {
    const client = new pg.Client({ ...config, types: TYPE_PARSERS, keepAlive: true });
    const lose = (e: unknown) => {
      if (client === this.client && this.lostBy === null) this.lostBy = e;
    };
    client.on('error', lose);
    client.on('end', () => lose(new Error('Connection terminated unexpectedly')));
    try {
      await client.connect();
    } catch (e) {
      void client.end().catch(() => undefined);
      throw e;
    }
    return client;
  }

  /** The run lock: a session advisory lock, which the server releases when the session ends, however. */
  private async lock(client: pg.Client, schema: string): Promise<void> {
    const key = lockKey(schema);
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [key.toString()],
    );
    if (rows[0].locked) return;
    throw new LockedError(
      `database ${this.display} is in use by another census-etl run (the lock on schema ${schema}: ` +
        `${await holderOf(client, key)}); wait for it or stop it`,
    );
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
