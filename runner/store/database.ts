/**
 * What a destination provides to the store: a connection that runs SQL with `?` placeholders,
 * transactions, and its own fast path for rows. Everything else (the run, the sources, status,
 * a batch's transaction) is written once over this (sql-store.ts, batch.ts, status.ts).
 */
import type { Table } from '../dataset/model.ts';
import type { ChecksumPage } from './checksum.ts';
import type { SqlKind } from './schema.ts';
import type { RowBlock } from './store.ts';

export type Row = Record<string, unknown>;

export interface Database {
  readonly kind: SqlKind;
  /** The database as messages show it (no password). */
  readonly display: string;
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs `work` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /** Inside a transaction: `work` under a savepoint, rolled back to it (only) when it throws. */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
  /** Inserts rows of one table, inside the caller's transaction, the fastest way it knows. */
  insertRows(table: Table, blocks: readonly RowBlock[]): Promise<void>;
  /** The checksum's text of the rows after a rowid, where the database builds it faster itself. */
  checksumPage?(table: Table, after: number): Promise<ChecksumPage>;
  /** Whether an error is a UNIQUE key's violation. */
  isUniqueViolation(error: unknown): boolean;
  /** Whether an error is a CHECK or NOT NULL constraint's violation (the cleaner missed it). */
  isCheckViolation(error: unknown): boolean;
  close(): Promise<void>;
}
