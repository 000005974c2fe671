/**
 * The bulk path: rows encoded as CSV in JS, sent with COPY … FROM STDIN (FORMAT csv) through
 * pg-copy-streams, inside the caller's transaction (COPY csv measured several times faster than
 * INSERT from Node when this path was chosen; scripts/bench/pg-copy.ts measures it per batch).
 * A COPY that fails leaves the transaction rolled back.
 */
import { once } from 'node:events';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CsvValue = string | number | boolean | null;

/** Strings PostgreSQL's CSV would misread unquoted: separators, quotes, and \. (end of data). */
const NEEDS_QUOTES = /[",\r\n\\]/;

/**
 * One CSV field as COPY (FORMAT csv) reads it: null is the empty unquoted field and "" the empty
 * string; numbers in their shortest round-trip form (-0 kept; Infinity, -Infinity and NaN are
 * what float8 reads); booleans as t and f.
 */
export function csvField(value: CsvValue): string {
  switch (typeof value) {
    case 'string':
      return value === '' || NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 't' : 'f';
    default:
      return '';
  }
}

export const csvRow = (values: readonly CsvValue[]) => values.map(csvField).join(',') + '\n';

/** A double-quoted identifier, so any table or column name is taken as written. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Slices small enough that an abort lands between them while the data is still flowing. */
const SLICE = 256 * 1024;

export type CopyOptions = {
  /**
   * What a failure does to the caller's transaction. 'rollback' (the default): rolls it back (see
   * copyRows). 'caller': leaves it, failed, to the caller, who rolls back to a savepoint taken
   * before the COPY and goes on in the same transaction (the store does, to retry rows one by one).
   */
  onFailure?: 'rollback' | 'caller';
};

/**
 * Writes `csv` (whole rows, csvRow's encoding) into `table` with COPY, in the transaction the
 * caller has begun on `client` (which needs an 'error' listener, as any pg client does); returns
 * the number of rows. On any failure, or when `signal` aborts before all data is sent, it rolls
 * the transaction back and throws: the client is then idle and usable, or, when the rollback
 * could not run (the connection is lost), ended, so that it fails at once and a pool drops it.
 * With `onFailure: 'caller'` it only throws, and the caller rolls back.
 */
export async function copyRows(
  client: ClientBase,
  table: string,
  columns: readonly string[],
  csv: Buffer,
  signal?: AbortSignal,
  options: CopyOptions = {},
): Promise<number> {
  const sql = `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN (FORMAT csv)`;
  const stream = client.query(copyFrom(sql));
  const finished = once(stream, 'finish');
  finished.catch(() => undefined); // awaited below, unless a failed write gets there first
  // Once ended, the COPY is let finish: pg-copy-streams cannot cancel it then. The rollback undoes it.
  let ended = false;
  const abort = () => {
    if (!ended) stream.destroy(signal?.reason);
  };
  signal?.addEventListener('abort', abort, { once: true });
  if (signal?.aborted) abort();
  try {
    for (let at = 0; at < csv.length && !signal?.aborted; at += SLICE) {
      if (!stream.write(csv.subarray(at, at + SLICE))) await once(stream, 'drain');
    }
    ended = !signal?.aborted;
    if (ended) stream.end();
    await finished;
    signal?.throwIfAborted();
    return stream.rowCount;
  } catch (e) {
    if (options.onFailure !== 'caller') await rollbackOrEnd(client);
    throw signal?.aborted ? signal.reason : e;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

async function rollbackOrEnd(client: ClientBase): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch {
    // The connection is gone, and the transaction with it (the server rolls it back).
    await (client as ClientBase & { end(): Promise<void> }).end().catch(() => undefined);
  }
}
