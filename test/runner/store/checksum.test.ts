/**
 * The summary's content checksum: SQLite builds each page's text itself (json_array, REALs through
 * JavaScript's number form), and that text must be the text built in JavaScript from the rows, the
 * one PostgreSQL's checksum hashes, for any value of any type, over several pages.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { Table } from '../../../runner/dataset/model.ts';
import { q } from '../../../runner/shared/sql.ts';
import { CHECKSUM_PAGE, checksumPageOfRows, tableChecksum } from '../../../runner/store/checksum.ts';
import { sqliteDestination } from '../../../runner/store/sqlite/store.ts';
import { openStore } from '../../../runner/store/store.ts';
import { oneTable } from '../../support/dataset.ts';
import { tempDir } from '../../support/fixtures.ts';

const KINDS = [
  { name: 'text, with "quotes"', type: 'string' },
  { name: 'integer', type: 'integer' },
  { name: 'number', type: 'number' },
  { name: 'boolean', type: 'boolean' },
  { name: 'date', type: 'date' },
  { name: 'year', type: 'year' },
  { name: 'any', type: 'any' },
];

/** Any text a source can hold: valid UTF-8, so no lone surrogate. */
const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => Buffer.from(s).toString() === s);
const row = fc.tuple(
  fc.option(text),
  fc.option(fc.maxSafeInteger()),
  fc.option(fc.oneof(fc.double(), fc.constantFrom(0.1, 3, 1e21, 1e-7, -0, 5e-324, 1 / 3))),
  fc.option(fc.boolean()),
  fc.option(fc.constantFrom('2026-12-06', '1900-01-01')),
  fc.option(fc.integer({ min: -9999, max: 9999 })),
  fc.option(text),
);

/** A SQLite database of the table, empty, and the store's Database over it. */
async function emptyTable() {
  const dir = tempDir();
  const file = path.join(dir, 'census.db');
  const dataset = await oneTable(KINDS);
  await (await openStore(file, { dataset })).close();
  const db = new Database(file);
  const [table] = dataset.tables;
  const columns = [...table.fields.map((f) => f.name), table.lineage.source, table.lineage.line];
  const insert = db.prepare(
    `INSERT INTO ${q(table.name)} (rowid, ${columns.map(q).join(', ')}) ` +
      `VALUES (${Array(columns.length + 1)
        .fill('?')
        .join(', ')})`,
  );
  const fill = (rows: unknown[][]) =>
    db.transaction(() => {
      db.exec(`DELETE FROM ${q(table.name)}`);
      rows.forEach((r, i) =>
        insert.run(i, ...r.map((v) => (typeof v === 'boolean' ? Number(v) : v)), 'x.csv', i),
      );
    })();
  return { table: table as Table, destination: sqliteDestination(db, file), fill, close: () => db.close() };
}

test('SQLite builds the text JavaScript builds from the rows, for any value of any type', async () => {
  const t = await emptyTable();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 30 }), async (rows) => {
        t.fill(rows);
        const built = await t.destination.checksumPage!(t.table, -1);
        assert.deepEqual(built, await checksumPageOfRows(t.destination, t.table, -1));
        assert.equal(built.rows, rows.length);
      }),
      { numRuns: 300 },
    );
  } finally {
    t.close();
  }
});

test('the text is as docs/cli.md defines it: a JSON array of strings or null, a line a row', async () => {
  const t = await emptyTable();
  try {
    t.fill([['a "b"', 1, 0.1, true, '2026-12-06', 2026, null]]);
    const line = '["a \\"b\\"","1","0.1","true","2026-12-06","2026",null,"x.csv","0"]\n';
    assert.equal((await t.destination.checksumPage!(t.table, -1)).text, line);
    assert.equal((await checksumPageOfRows(t.destination, t.table, -1)).text, line);
  } finally {
    t.close();
  }
});

test('a checksum over several pages is the same whichever side builds the text', async () => {
  const t = await emptyTable();
  try {
    const rows = fc.sample(row, { numRuns: CHECKSUM_PAGE * 2 + 17, seed: 7 });
    t.fill(rows);
    const bySqlite = await tableChecksum(t.destination, t.table);
    const byJavaScript = await tableChecksum({ ...t.destination, checksumPage: undefined }, t.table);
    assert.deepEqual(bySqlite, byJavaScript);
    assert.equal(bySqlite.rows, rows.length);
    t.fill(rows.slice(1));
    assert.notEqual((await tableChecksum(t.destination, t.table)).sha256, bySqlite.sha256);
  } finally {
    t.close();
  }
});
