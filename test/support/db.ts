/** What fault tests compare: a database's content as a hash, and its bookkeeping as numbers. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/** SHA-256 of `adult` and `quarantine`, every column, in source order (source number, line). */
export function contentHash(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const hash = createHash('sha256');
    const ordered = { adult: 'rowid', quarantine: 'source_no, line' };
    for (const [table, order] of Object.entries(ordered)) {
      hash.update(`${table}\n`);
      const rows = db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw().iterate();
      for (const row of rows) hash.update(`${JSON.stringify(row)}\n`);
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

export type Bookkeeping = {
  sources: {
    name: string;
    lines: number;
    read: number;
    loaded: number;
    quarantined: number;
    skipped: number;
  }[];
  /** Records and skipped lines per committed batch, in order. */
  batches: { batch: number; records: number; skipped: number }[];
};

export function bookkeeping(file: string): Bookkeeping {
  const db = new Database(file, { readonly: true });
  try {
    return {
      sources: db
        .prepare(
          'SELECT name, lines, next_line - 1 AS read, loaded, quarantined, skipped FROM sources ORDER BY no',
        )
        .all() as Bookkeeping['sources'],
      batches: db
        .prepare('SELECT batch, loaded + quarantined AS records, skipped FROM batches ORDER BY batch')
        .all() as Bookkeeping['batches'],
    };
  } finally {
    db.close();
  }
}

/**
 * The invariants that must hold after any interruption: the rows present are exactly those
 * the checkpoint says were committed (no duplicate, no gap), batches are numbered without a
 * hole, and every line read is loaded, quarantined or skipped. A missing database (killed
 * before it was created) holds trivially.
 */
export function assertConsistent(file: string, context = ''): void {
  if (!existsSync(file)) return;
  // Read-write: a killed run leaves a WAL that only a writer may recover.
  const db = new Database(file);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', context);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    if (!tables.includes('batches')) return; // killed while the schema was being created
    const sources = db
      .prepare('SELECT no, name, next_line, loaded, quarantined, skipped FROM sources')
      .all() as {
      no: number;
      name: string;
      next_line: number;
      loaded: number;
      quarantined: number;
      skipped: number;
    }[];
    for (const s of sources) {
      // A source's rows are those whose rowid holds its number (see store.ts's rowid).
      const rows = db
        .prepare(
          'SELECT count(*) AS n, count(DISTINCT line) AS distinct_lines, coalesce(max(line), 0) AS last ' +
            'FROM adult WHERE rowid >> 32 = ?',
        )
        .get(s.no) as { n: number; distinct_lines: number; last: number };
      const held = db.prepare('SELECT count(*) FROM quarantine WHERE source_no = ?').pluck().get(s.no);
      assert.equal(rows.n, s.loaded, `${context}: ${s.name}: rows in adult vs the checkpoint's count`);
      assert.equal(rows.distinct_lines, rows.n, `${context}: ${s.name}: a line loaded twice`);
      assert.ok(
        rows.last < s.next_line,
        `${context}: ${s.name}: a row beyond the checkpoint (line ${rows.last}, next ${s.next_line})`,
      );
      assert.equal(
        held,
        s.quarantined,
        `${context}: ${s.name}: rows in quarantine vs the checkpoint's count`,
      );
      assert.equal(
        s.loaded + s.quarantined + s.skipped,
        s.next_line - 1,
        `${context}: ${s.name}: lines unaccounted for`,
      );
    }
    const batches = db
      .prepare(
        'SELECT count(*) AS n, coalesce(max(batch), 0) AS last, coalesce(sum(loaded), 0) AS loaded, ' +
          'coalesce(sum(quarantined), 0) AS quarantined, coalesce(sum(skipped), 0) AS skipped FROM batches',
      )
      .get() as Record<string, number>;
    assert.equal(batches.n, batches.last, `${context}: batch numbers have a gap`);
    const sum = (k: 'loaded' | 'quarantined' | 'skipped') => sources.reduce((n, s) => n + s[k], 0);
    assert.deepEqual(
      [batches.loaded, batches.quarantined, batches.skipped],
      [sum('loaded'), sum('quarantined'), sum('skipped')],
      `${context}: batches vs sources`,
    );
  } finally {
    db.close();
  }
}
