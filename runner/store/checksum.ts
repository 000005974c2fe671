/**
 * The summary's content checksum of a table: the SHA-256 of its rows in rowid order, one line a
 * row, each the JSON array of the row's values (the fields, then the lineage) as text: numbers in
 * JavaScript's shortest form, booleans `true` or `false`, a missing value `null`. The same text,
 * so the same checksum, from SQLite and PostgreSQL when they hold the same rows.
 */
import { createHash } from 'node:crypto';
import type { Field, Table } from '../dataset/model.ts';
import { q } from '../shared/sql.ts';
import type { Database } from './database.ts';

/** Rows read at a time: memory stays bounded whatever the table's size. */
export const CHECKSUM_PAGE = 10_000;

/** Rows after a rowid as the checksum hashes them: their text, how many, the last one's rowid. */
export type ChecksumPage = { text: string; rows: number; last: number };

/** The columns hashed, in order, each with the type its text follows. */
export const checksumColumns = (t: Table): { name: string; type: Field['type'] }[] => [
  ...t.fields.map((f) => ({ name: f.name, type: f.type })),
  { name: t.lineage.source, type: 'string' },
  { name: t.lineage.line, type: 'integer' },
];

/** A value as the checksum hashes it: the same text whichever database gave it back. */
function canonical(type: Field['type'], v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'boolean') return v === true || v === 1 || v === '1' || v === 't' ? 'true' : 'false';
  if (type === 'integer' || type === 'year' || type === 'number') return String(Number(v));
  return String(v);
}

/** A page built in JavaScript from the rows as the database returns them. */
export async function checksumPageOfRows(db: Database, table: Table, after: number): Promise<ChecksumPage> {
  const columns = checksumColumns(table);
  const rows = await db.all<Record<string, unknown>>(
    `SELECT rowid AS "__rowid", ${columns.map((c) => q(c.name)).join(', ')} FROM ${q(table.name)} ` +
      `WHERE rowid > ? ORDER BY rowid LIMIT ${CHECKSUM_PAGE}`,
    [after],
  );
  // The page's text hashed at once (one update per row cost a third of the time).
  let text = '';
  const line = new Array<string | null>(columns.length);
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) line[i] = canonical(columns[i].type, row[columns[i].name]);
    text += `${JSON.stringify(line)}\n`;
  }
  return { text, rows: rows.length, last: rows.length ? Number(rows.at(-1)!.__rowid) : after };
}

/** A table's row count and checksum, a page at a time, each built by the database where it can. */
export async function tableChecksum(db: Database, table: Table): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256');
  let rows = 0;
  for (let after = -1; ;) {
    const page = await (db.checksumPage
      ? db.checksumPage(table, after)
      : checksumPageOfRows(db, table, after));
    hash.update(page.text);
    rows += page.rows;
    if (page.rows < CHECKSUM_PAGE) break;
    after = page.last;
  }
  return { rows, sha256: hash.digest('hex') };
}
