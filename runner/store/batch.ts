/**
 * A batch's one transaction, in either database: its rows, its quarantined records, the new
 * checkpoint and its `batches` row commit together or not at all. A row the database refuses
 * (a UNIQUE key it repeats, a CHECK the cleaner could not see) is retried alone and, refused
 * again, quarantined with the reason: the first row with a key wins, and the load goes on.
 */
import type { Table, Value } from '../dataset/model.ts';
import { rowAt } from '../dataset/packing.ts';
import { q } from '../shared/sql.ts';
import type { Database } from './database.ts';
import { rowid, storable } from './schema.ts';
import type { Batch, Committed, Quarantined, RowBlock, SourceProgress } from './store.ts';

/** The columns a row is inserted into, in the order `rowValues` gives them. */
export const insertColumns = (t: Table) => [
  'rowid',
  ...t.fields.map((f) => f.name),
  t.lineage.source,
  t.lineage.line,
];

/** Row `r` of a block as bound parameters: rowid, the fields, the lineage. */
export function rowValues(kind: Database['kind'], table: Table, block: RowBlock, r: number): Value[] {
  const fields = rowAt(table, block, r).map((v, i) => storable(kind, table.fields[i].type, v));
  return [rowid(block.sourceNo, block.lines[r]), ...fields, block.source, block.lines[r]];
}

/** Which of the table's keys an existing row already holds for row `r`, as a reason; null: none. */
async function duplicateReason(db: Database, table: Table, values: readonly Value[]): Promise<string | null> {
  const keys = [
    table.primaryKey,
    ...table.uniqueKeys,
    ...table.fields.filter((f) => f.unique).map((f) => [f.name]),
  ].filter((k) => k.length);
  for (const key of keys) {
    const at = key.map((name) => 1 + table.fields.findIndex((f) => f.name === name));
    const vals = at.map((i) => values[i]);
    if (vals.some((v) => v === null)) continue; // NULLs never collide
    const where = key.map((k) => `${q(k)} = ?`).join(' AND ');
    const hit = await db.all(`SELECT 1 AS hit FROM ${q(table.name)} WHERE ${where} LIMIT 1`, vals);
    if (hit.length) {
      const kind = key === table.primaryKey ? 'primary key' : 'unique key';
      const shown = vals.map((v) => JSON.stringify(v)).join(', ');
      return `${kind} (${key.join(', ')}) = (${shown}) repeats an earlier row's`;
    }
  }
  return null;
}

/** Inserts the rows of `blocks` one by one; those refused are moved to `quarantined`. */
async function rowByRow(
  db: Database,
  table: Table,
  blocks: readonly RowBlock[],
  quarantined: Quarantined[],
  progress: Map<number, SourceProgress>,
): Promise<number> {
  const columns = insertColumns(table);
  const placeholders = columns.map(() => '?').join(', ');
  const sql = `INSERT INTO ${q(table.name)} (${columns.map(q).join(', ')}) VALUES (${placeholders})`;
  let refused = 0;
  for (const block of blocks) {
    for (let r = 0; r < block.lines.length; r++) {
      const values = rowValues(db.kind, table, block, r);
      let reason: string | null = null;
      try {
        await db.savepoint(() => db.run(sql, values));
        continue;
      } catch (e) {
        if (db.isUniqueViolation(e)) reason = await duplicateReason(db, table, values);
        else if (db.isCheckViolation(e)) reason = `the database refused it: ${(e as Error).message}`;
        if (reason === null) throw e; // its rowid: the record was loaded already, a bug to see
      }
      const raw = JSON.stringify(rowAt(table, block, r));
      quarantined.push({ sourceNo: block.sourceNo, source: block.source, line: block.lines[r], raw, reason });
      const p = progress.get(block.sourceNo)!;
      p.loaded--;
      p.quarantined++;
      refused++;
    }
  }
  return refused;
}

/** Commits `batch` in one transaction; what it held once the database had its say. */
export function writeBatch(
  db: Database,
  tables: ReadonlyMap<string, Table>,
  batch: Batch,
): Promise<Committed> {
  return db.transaction(async () => {
    const quarantined = [...batch.quarantined];
    const progress = new Map(batch.progress.map((p) => [p.no, { ...p }]));
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < batch.rows.length;) {
      // Consecutive blocks of one table go in together.
      let j = i + 1;
      while (j < batch.rows.length && batch.rows[j].table === batch.rows[i].table) j++;
      const blocks = batch.rows.slice(i, j);
      const table = tables.get(blocks[0].table)!;
      loaded += blocks.reduce((n, b) => n + b.lines.length, 0);
      try {
        await db.savepoint(() => db.insertRows(table, blocks));
      } catch (e) {
        if (!db.isUniqueViolation(e) && !db.isCheckViolation(e)) throw e;
        refused += await rowByRow(db, table, blocks, quarantined, progress);
      }
      i = j;
    }
    for (const r of quarantined) {
      await db.run('INSERT INTO quarantine (source_no, source, line, raw, reason) VALUES (?, ?, ?, ?, ?)', [
        r.sourceNo,
        r.source,
        r.line,
        r.raw,
        r.reason,
      ]);
    }
    for (const p of progress.values()) {
      await db.run(
        'UPDATE sources SET next_offset = ?, next_line = ?, loaded = ?, quarantined = ?, skipped = ? ' +
          'WHERE no = ?',
        [p.nextOffset, p.nextLine, p.loaded, p.quarantined, p.skipped, p.no],
      );
    }
    const [{ n }] = await db.all<{ n: number | string }>(
      'SELECT coalesce(max(batch), 0) + 1 AS n FROM batches',
    );
    const batchNo = Number(n);
    await db.run(
      'INSERT INTO batches (batch, committed_at, loaded, quarantined, skipped, ms) VALUES (?, ?, ?, ?, ?, ?)',
      [batchNo, new Date().toISOString(), loaded - refused, quarantined.length, batch.skipped, batch.ms],
    );
    return {
      batch: batchNo,
      loaded: loaded - refused,
      quarantined: quarantined.length,
      progress: [...progress.values()],
    };
  });
}
