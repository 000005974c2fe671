/**
 * PostgreSQL as the store's Database: SQL with `?` placeholders (numbered for the server),
 * REPEATABLE READ transactions (read() sees one snapshot; the run lock keeps writers apart),
 * savepoints, and rows as one COPY … FROM STDIN (FORMAT csv) per call. Every error comes out as
 * a PostgresError: explained and marked retryable or not (errors.ts).
 */
import type { QueryResult } from 'pg';
import type { Table } from '../../dataset/model.ts';
import { insertColumns, rowValues } from '../batch.ts';
import type { Database, Row } from '../database.ts';
import type { RowBlock } from '../store.ts';
import { copyRows, csvRow } from './copy.ts';
import { PostgresError } from './errors.ts';
import type { Session } from './session.ts';

/** The end of a quoted string or identifier starting at `i` ('' and "" inside it stay in it). */
function quoteEnd(sql: string, i: number, backslashes: boolean): number {
  const quote = sql[i];
  for (let j = i + 1; j < sql.length; j++) {
    if (backslashes && sql[j] === '\\') j++;
    else if (sql[j] === quote) {
      if (sql[j + 1] !== quote) return j + 1;
      j++;
    }
  }
  return sql.length;
}

/**
 * `sql` with its `?` placeholders numbered as PostgreSQL's `$1, $2, …`; a `?` inside a string
 * ('…', E'…', $tag$…$tag$), a quoted identifier or a comment is left as it is. Returns the text
 * and how many placeholders it had.
 */
export function numbered(sql: string): { text: string; count: number } {
  let text = '';
  let count = 0;
  for (let i = 0; i < sql.length;) {
    const c = sql[i];
    let end = i + 1;
    if (c === "'" || c === '"') {
      const escaped = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      end = quoteEnd(sql, i, escaped);
    } else if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      end = eol < 0 ? sql.length : eol;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? sql.length : close + 2;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        end = close < 0 ? sql.length : close + tag.length;
      }
    } else if (c === '?') {
      text += `$${++count}`;
      i = end;
      continue;
    }
    text += sql.slice(i, end);
    i = end;
  }
  return { text, count };
}

/** Statements translated so far (the store runs the same few again and again). */
const MAX_CACHED = 1000;

export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  private savepoints = 0;
  private readonly texts = new Map<string, string>();

  constructor(private readonly session: Session) {}

  get display(): string {
    return this.session.display;
  }

  /** `sql` for the server: numbered when it has parameters, as written when not (a view's text). */
  private text(sql: string, params: readonly unknown[]): string {
    if (!params.length) return sql;
    let text = this.texts.get(sql);
    if (text === undefined) {
      const n = numbered(sql);
      if (n.count !== params.length) {
        throw new Error(`census-etl: ${n.count} placeholders for ${params.length} parameters in ${sql}`);
      }
      if (this.texts.size >= MAX_CACHED) this.texts.clear();
      this.texts.set(sql, (text = n.text));
    }
    return text;
  }

  private async query<T extends Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const text = this.text(sql, params);
    const client = await this.session.use();
    try {
      return await client.query<T>(
        text,
        params.map((v) => (v === undefined ? null : v)),
      );
    } catch (e) {
      throw this.session.failed(e);
    }
  }

  async all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async run(sql: string, params?: readonly unknown[]): Promise<void> {
    await this.query(sql, params);
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.session.inTransaction) throw new Error('census-etl: transactions do not nest');
    await this.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    this.session.inTransaction = true;
    try {
      const result = await work();
      const done = await this.query('COMMIT');
      // COMMIT of a transaction an error aborted answers ROLLBACK: nothing was written.
      if (done.command !== 'COMMIT') {
        throw new PostgresError(`${this.display}: the transaction failed and was rolled back`, false);
      }
      return result;
    } catch (e) {
      await this.rollback();
      throw e;
    } finally {
      this.session.inTransaction = false;
      this.savepoints = 0;
    }
  }

  /** Rolls back what the session has begun; with the connection lost, the server has already. */
  private async rollback(): Promise<void> {
    if (this.session.lost) return;
    try {
      await (await this.session.use()).query('ROLLBACK');
    } catch (e) {
      this.session.failed(e);
    }
  }

  async savepoint<T>(work: () => Promise<T>): Promise<T> {
    const name = `census_etl_${this.savepoints++}`;
    await this.query(`SAVEPOINT ${name}`);
    try {
      const result = await work();
      await this.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (e) {
      if (!this.session.lost) {
        // Failing, the connection is lost: the transaction is gone, and `e` says why.
        await this.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => undefined);
      }
      throw e;
    } finally {
      this.savepoints--;
    }
  }

  /** One COPY for all the rows: encoded as CSV (booleans t and f, NULL as an empty field). */
  async insertRows(table: Table, blocks: readonly RowBlock[]): Promise<void> {
    const rows: string[] = [];
    for (const block of blocks) {
      for (let r = 0; r < block.lines.length; r++) rows.push(csvRow(rowValues('postgres', table, block, r)));
    }
    if (!rows.length) return;
    const client = await this.session.use();
    try {
      await copyRows(client, table.name, insertColumns(table), Buffer.from(rows.join('')), undefined, {
        onFailure: 'caller',
      });
    } catch (e) {
      throw this.session.failed(e);
    }
  }

  /** SQLSTATE 23505: a UNIQUE or PRIMARY KEY constraint. */
  isUniqueViolation(error: unknown): boolean {
    return (error as { code?: string }).code === '23505';
  }

  /**
   * A CHECK (23514) or NOT NULL (23502) constraint, or a value the column cannot hold (class 22:
   * invalid text for its type, out of range, a NUL character in text): the row's fault.
   */
  isCheckViolation(error: unknown): boolean {
    const code = (error as { code?: string }).code ?? '';
    return code === '23514' || code === '23502' || /^22[0-9A-Z]{3}$/.test(code);
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
