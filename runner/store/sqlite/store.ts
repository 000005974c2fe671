/**
 * The SQLite destination: one file, WAL, the run lock on a side file, the schema created or
 * upgraded on open, and rows inserted packed (dataset/packing.ts), a multi-row INSERT taking
 * them apart, in the batch's transaction.
 */
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Table } from '../../dataset/model.ts';
import { packingOf, type Packing } from '../../dataset/packing.ts';
import { q } from '../../shared/sql.ts';
import { insertColumns } from '../batch.ts';
import { rowid, valueSql } from '../schema.ts';
import type { Database as Destination, Row } from '../database.ts';
import { SqlStore } from '../sql-store.ts';
import { CHECKSUM_PAGE, checksumColumns } from '../checksum.ts';
import { LockedError } from '../../shared/errors.ts';
import type { OpenOptions, RowBlock, Store } from '../store.ts';
import { upgradeSchema, readDatasetOf } from './schema.ts';

type DB = Database.Database;

/** SQLite's constraint error codes: a key, or a CHECK, NOT NULL or type the cleaner let through. */
const UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const CHECK = new Set(['SQLITE_CONSTRAINT_CHECK', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_DATATYPE']);

/** SQLite takes 32,766 parameters a statement; 100 rows a statement is past where more pays. */
const MAX_ROWS_PER_INSERT = 100;

/** better-sqlite3 binds no booleans and no undefined. */
const bindableValue = (v: unknown) => (typeof v === 'boolean' ? Number(v) : v === undefined ? null : v);
const bindable = (params: readonly unknown[] = []) => params.map(bindableValue);

/** SQL giving field `i` back from a row's parameters: `column2` the packed number, loose ones after. */
function fieldSql(table: Table, p: Packing, i: number): string {
  const loose = p.loose.indexOf(i);
  if (loose !== -1) return `column${3 + loose}`;
  const d = p.digits.find((x) => x.field === i)!;
  const top = d.place * d.radix === p.top;
  const digit = top ? `column2 / ${d.place}` : `column2 % ${d.place * d.radix} / ${d.place}`;
  if (!d.values) return `nullif(${digit}, 0) + ${d.min - 1}`;
  const field = table.fields[i];
  const cases = d.values.map((v, c) => `WHEN ${c + 1} THEN ${valueSql('sqlite', field, v)}`);
  return `CASE ${digit} ${cases.join(' ')} END`;
}

/**
 * The rows of `rows` packed rows of one source, as SELECT gives them to the INSERT: parameters
 * the source's rowid base and name, then per row its line (`column1`), its packed number (cast
 * once: the digits come out with integer arithmetic) and its loose values.
 */
export function packedRows(table: Table, p: Packing, rows: number): string {
  const fields = table.fields.map((_, i) => fieldSql(table, p, i)).join(', ');
  const row = `(?, CAST(? AS INTEGER)${', ?'.repeat(p.loose.length)})`;
  return `SELECT ? + column1, ${fields}, ?, column1 FROM (VALUES ${Array(rows).fill(row).join(', ')})`;
}

/**
 * The checksum's lines (checksum.ts) of the rows after a rowid, built by SQLite: several times
 * faster than row objects in JavaScript. json_array escapes text as JSON.stringify does (a test
 * holds it to that for every code point); a REAL goes through JavaScript's own number form
 * (census_number), as SQLite's differs (3.0, 1.0e+20).
 */
export function checksumLinesSql(table: Table): string {
  const text = checksumColumns(table).map(({ name, type }) => {
    const c = q(name);
    if (type === 'boolean') return `CASE WHEN ${c} IS NULL THEN NULL WHEN ${c} THEN 'true' ELSE 'false' END`;
    if (type === 'number') return `census_number(${c})`;
    return type === 'integer' || type === 'year' ? `CAST(${c} AS TEXT)` : c;
  });
  return (
    `SELECT json_array(${text.join(', ')}) || char(10) FROM ${q(table.name)} ` +
    `WHERE rowid > ? ORDER BY rowid LIMIT ${CHECKSUM_PAGE}`
  );
}

const packedInsert = (table: Table, p: Packing, rows: number) =>
  `INSERT INTO ${q(table.name)} (${insertColumns(table).map(q).join(', ')}) ${packedRows(table, p, rows)}`;

/** better-sqlite3's synchronous connection as a Destination. */
export function sqliteDestination(db: DB, display: string): Destination {
  const statements = new Map<string, Database.Statement>();
  /** The packed INSERTs, by table and row count: their SQL is long to build for every batch. */
  const inserts = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  let savepoints = 0;
  db.function('census_number', { deterministic: true }, (v) => (v === null ? null : String(v)));
  return {
    kind: 'sqlite',
    display,
    async all<T = Row>(sql: string, params?: readonly unknown[]) {
      return prepared(sql).all(...bindable(params)) as T[];
    },
    async run(sql, params) {
      const s = prepared(sql);
      if (s.reader) s.all(...bindable(params));
      else s.run(...bindable(params));
    },
    async transaction(work) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        db.exec('COMMIT');
        return result;
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        if ((e as { code?: string }).code !== 'SQLITE_FULL') throw e;
        // SQLite says only "database or disk is full"; the user needs to know nothing was lost.
        const n = db.prepare('SELECT coalesce(max(batch), 0) + 1 FROM batches').pluck().get() as number;
        throw new Error(
          `database or disk full writing batch ${n} to ${display}: the batch was rolled back ` +
            `and the checkpoint stays at batch ${n - 1}; free space and run again to resume`,
        );
      }
    },
    async savepoint(work) {
      const name = `sp${savepoints++}`;
      db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await work();
        db.exec(`RELEASE ${name}`);
        return result;
      } catch (e) {
        db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
        throw e;
      } finally {
        savepoints--;
      }
    },
    async insertRows(table: Table, blocks: readonly RowBlock[]) {
      const p = packingOf(table);
      const width = 2 + p.loose.length; // per row: the line, the packed number, the loose values
      const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(32000 / width)));
      const params: unknown[] = [];
      // Per block, its source first (two parameters, kept from one statement to the next).
      const flush = () => {
        const rows = (params.length - 2) / width;
        const key = `${table.name}\n${rows}`;
        let insert = inserts.get(key);
        if (!insert) inserts.set(key, (insert = db.prepare(packedInsert(table, p, rows))));
        insert.run(params);
        params.length = 2;
      };
      for (const block of blocks) {
        params.length = 0;
        params.push(rowid(block.sourceNo, 0), block.source);
        for (let r = 0, v = 0; r < block.lines.length; r++) {
          params.push(block.lines[r], block.packed[r]);
          for (let k = 0; k < p.loose.length; k++) params.push(bindableValue(block.values[v++]));
          if (params.length - 2 === perInsert * width) flush();
        }
        if (params.length > 2) flush();
      }
    },
    async checksumPage(table, after) {
      const lines = prepared(checksumLinesSql(table)).pluck().all(after) as string[];
      if (lines.length === 0) return { text: '', rows: 0, last: after };
      const last = prepared(
        `SELECT rowid FROM ${q(table.name)} WHERE rowid > ? ORDER BY rowid LIMIT 1 OFFSET ?`,
      );
      return {
        text: lines.join(''),
        rows: lines.length,
        last: last.pluck().get(after, lines.length - 1) as number,
      };
    },
    isUniqueViolation: (e) => UNIQUE.has((e as { code?: string }).code ?? ''),
    isCheckViolation: (e) => CHECK.has((e as { code?: string }).code ?? ''),
    async close() {
      db.close();
    },
  };
}

/**
 * Opens (creating if needed) the database, and takes the run lock: a SQLite exclusive lock
 * on a side file, which the kernel releases when the process dies however it dies.
 */
export async function openSqlite(file: string, options: OpenOptions): Promise<Store> {
  if (options.readOnly) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return new SqlStore(sqliteDestination(db, file), readDatasetOf(db));
    } catch (e) {
      db.close();
      throw e;
    }
  }
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // Keyed by the real path: a symlink to the database, or another way to it, finds the same lock.
  const real = existsSync(file)
    ? realpathSync(file)
    : path.join(realpathSync(path.dirname(path.resolve(file))), path.basename(file));
  const lock = new Database(`${real}.lock`, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch {
    lock.close();
    throw new LockedError(
      `database ${file} is in use by another census-etl run (lock ${real}.lock is held); ` +
        'wait for it or stop it',
    );
  }
  let db: DB | null = null;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process with every committed batch (only power loss can
    // drop the last commits, and the checkpoint goes with them).
    db.pragma('synchronous = NORMAL');
    // The batch whose commit fills the WAL copies it into the database (and syncs twice): every
    // 1,000 pages (SQLite's default), one unthrottled batch in 18 took 10-20 ms instead of 4.
    // Every 8,000 pages (32 MB), one in about 145: the per-batch p99 stays low (npm run bench).
    db.pragma('wal_autocheckpoint = 8000');
    const opened = db;
    // One transaction: a killed run never leaves half a schema, and the WAL stays small.
    const dataset = opened.transaction(() => upgradeSchema(opened, options.dataset))();
    return new SqlStore(sqliteDestination(opened, file), dataset, {
      // A standalone copy as of now, safe to read while the run writes on.
      snapshot: async (target) => {
        await rm(target, { force: true });
        await opened.backup(target);
        const copy = new Database(target);
        copy.pragma('journal_mode = DELETE');
        copy.close();
      },
      release: () => lock.close(),
    });
  } catch (e) {
    db?.close();
    lock.close();
    throw e;
  }
}
