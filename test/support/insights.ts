/**
 * For the report's and the views' tests: datasets written by hand, stores filled batch by batch
 * through the Store interface, and a SQLite database copied into PostgreSQL (tables and views
 * from schema.ts) with a reader over it that answers as a PostgreSQL store would.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { readDescriptor } from '../../runner/dataset/descriptor.ts';
import type { Dataset, Value } from '../../runner/dataset/model.ts';
import { q } from '../../runner/shared/sql.ts';
import type { Database as Destination } from '../../runner/store/database.ts';
import { tablesSql, viewsSql } from '../../runner/store/schema.ts';
import { readStatus } from '../../runner/store/status.ts';
import type { Quarantined, SourceRecord, Store } from '../../runner/store/store.ts';
import { packRows } from '../../runner/dataset/packing.ts';

/** The dataset a descriptor describes (its files need not exist: nothing here reads them). */
export async function datasetOf(descriptor: unknown): Promise<Dataset> {
  const { dataset } = await readDescriptor(descriptor, 'test', { kind: 'local', at: '/nonexistent' }, () =>
    Promise.reject(new Error('no file')),
  );
  return dataset;
}

/** One source of a test: its table, name, records, and which of them are quarantined or skipped. */
export type TestSource = {
  table: string;
  name: string;
  /** Loaded records: the values of one row, in field order. */
  rows: Value[][];
  quarantined?: { line: number; reason: string }[];
  skipped?: number;
};

/**
 * Registers the sources and commits their records in batches of `batchSize` rows per source
 * (quarantined and skipped lines in the first batch), lines numbered from 1 in each source.
 */
export async function fill(store: Store, sources: TestSource[], batchSize = 1000): Promise<void> {
  const records = (s: TestSource) => s.rows.length + (s.quarantined?.length ?? 0) + (s.skipped ?? 0);
  await store.registerSources(
    sources.map((s, no): SourceRecord => ({
      no,
      resource: s.table,
      name: s.name,
      uri: `/data/${s.name}`,
      sha256: String(no).padStart(64, '0'),
      bytes: 100 * records(s),
      lines: records(s),
      records: records(s),
    })),
  );
  const progress = sources.map((s, no) => ({
    no,
    nextOffset: 0,
    nextLine: 1,
    loaded: 0,
    quarantined: 0,
    skipped: 0,
  }));
  // Quarantined and skipped lines come first in each source, then the rows.
  const firstRow = (s: TestSource) => 1 + (s.quarantined?.length ?? 0) + (s.skipped ?? 0);
  const first: Quarantined[] = sources.flatMap((s, no) =>
    (s.quarantined ?? []).map((x) => ({
      sourceNo: no,
      source: s.name,
      line: x.line,
      raw: 'raw',
      reason: x.reason,
    })),
  );
  for (let from = 0, batch = 0; batch === 0 || sources.some((s) => from < s.rows.length); from += batchSize) {
    const rows = sources.flatMap((s, no) => {
      const slice = s.rows.slice(from, from + batchSize);
      if (!slice.length) return [];
      const p = progress[no];
      if (batch === 0) {
        p.quarantined = s.quarantined?.length ?? 0;
        p.skipped = s.skipped ?? 0;
      }
      p.loaded += slice.length;
      p.nextLine = firstRow(s) + from + slice.length;
      p.nextOffset = p.nextLine * 100;
      return [
        {
          table: s.table,
          sourceNo: no,
          source: s.name,
          lines: slice.map((_, k) => firstRow(s) + from + k),
          ...packRows(
            store.dataset.tables.find((t) => t.name === s.table)!,
            slice,
          ),
        },
      ];
    });
    await store.writeBatch({
      rows,
      quarantined: batch === 0 ? first : [],
      skipped: batch === 0 ? sources.reduce((n, s) => n + (s.skipped ?? 0), 0) : 0,
      progress: progress.map((p) => ({ ...p })),
      ms: 1,
    });
    batch++;
  }
}

/** Runs SQL written with `?` placeholders on PostgreSQL. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/** A PostgreSQL database made from the dataset's schema (tables, then views), in `database`. */
export async function createSchema(client: pg.Client, dataset: Dataset): Promise<void> {
  for (const t of tablesSql('postgres', dataset)) await client.query(t.sql);
  for (const v of viewsSql(dataset)) await client.query(v.sql);
}

/** Copies every table of a SQLite database (data tables with their rowids) into PostgreSQL. */
export async function copyToPostgres(file: string, dataset: Dataset, client: pg.Client): Promise<void> {
  const db = new Database(file, { readonly: true });
  try {
    const data = new Set(dataset.tables.map((t) => t.name));
    for (const { name } of tablesSql('postgres', dataset)) {
      const rows = db
        .prepare(`SELECT ${data.has(name) ? 'rowid, ' : ''}* FROM ${q(name)}`)
        .raw()
        .all() as unknown[][];
      const columns = db
        .prepare(`SELECT ${data.has(name) ? 'rowid, ' : ''}* FROM ${q(name)} LIMIT 0`)
        .columns()
        .map((c) => q(c.name));
      const per = Math.floor(60_000 / columns.length);
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        const values = chunk.map(
          (r, k) => `(${r.map((_, j) => `$${k * columns.length + j + 1}`).join(', ')})`,
        );
        await client.query(
          `INSERT INTO ${q(name)} (${columns.join(', ')}) VALUES ${values.join(', ')}`,
          chunk.flat(),
        );
      }
    }
  } finally {
    db.close();
  }
}

/**
 * A reader of a PostgreSQL database with the Store's reading methods (status, read) over the
 * same code a PostgreSQL store runs (status.ts), reads in one REPEATABLE READ transaction.
 */
export function postgresReader(client: pg.Client, dataset: Dataset): Store {
  const all = async <T>(sql: string, params: readonly unknown[] = []) =>
    (await client.query(numbered(sql), [...params])).rows as T[];
  const destination = { kind: 'postgres', display: 'test', all } as unknown as Destination;
  const reader: Pick<Store, 'kind' | 'display' | 'dataset' | 'status' | 'read'> = {
    kind: 'postgres',
    display: 'test',
    dataset,
    status: () => readStatus(destination),
    async read(queries) {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const out: Record<string, unknown>[][] = [];
        for (const sql of queries) out.push((await client.query(sql)).rows);
        return out;
      } finally {
        await client.query('COMMIT');
      }
    },
  };
  return reader as Store;
}
