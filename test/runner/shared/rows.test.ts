/**
 * The row layout: what the parser threads encode (encodeRow) and the store's INSERT decodes
 * inside SQLite comes back as the very row that was cleaned, for any values the dataset
 * definition allows, in any mix of sources and blocks.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Value } from '../../../runner/extract/clean.ts';
import { COLUMNS } from '../../../runner/dataset/adult.ts';
import { SLOTS, encodeRow, rowInserter, rowid, type RowBlock } from '../../../runner/shared/rows.ts';
import { q } from '../../../runner/shared/sql.ts';
import { openStore } from '../../../runner/store/store.ts';
import { tempDir } from '../../support/fixtures.ts';

/** Any value a cleaned row may hold in each column, the edges of every range included. */
const value = (c: (typeof COLUMNS)[number]) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    {
      weight: 8,
      arbitrary:
        c.kind === 'nominal'
          ? fc.constantFrom(...c.domain)
          : fc
              .oneof(
                fc.constantFrom(c.min, c.max),
                fc.integer({ min: c.min, max: Math.min(c.max, 2 ** 31) }),
                fc.nat().map((n) => c.max - n),
              )
              .filter((n) => n >= c.min),
    },
  );
const row = fc.tuple(...COLUMNS.map(value)) as fc.Arbitrary<Value[]>;

/** Blocks as the loader makes them: runs of rows of one source, lines rising (gaps: lines not loaded). */
const rowsAfterGaps = fc.array(fc.tuple(row, fc.nat(3)), { minLength: 1, maxLength: 130 });
const blocks = fc.array(fc.tuple(fc.nat(2), rowsAfterGaps), { minLength: 1, maxLength: 5 });

test('an encoded row comes out of the INSERT as the cleaned row, with its rowid, source and line', () => {
  const { db, close } = openStore(path.join(tempDir(), 'census.db'));
  try {
    const insert = rowInserter(db);
    const columns = COLUMNS.map((c) => q(c.name)).join(', ');
    const read = db.prepare(`SELECT rowid, ${columns}, source, line FROM adult ORDER BY rowid`).raw();
    fc.assert(
      fc.property(blocks, (spec) => {
        db.exec('DELETE FROM adult');
        const expected: Value[][] = [];
        const next = [1, 1, 1];
        const made: RowBlock[] = spec.map(([sourceNo, rows]) => {
          const values = new Float64Array(rows.length * SLOTS);
          const firstLine = next[sourceNo];
          const lineOffsets = Uint32Array.from(rows, ([r, gap], i) => {
            encodeRow(r, values, i * SLOTS);
            const line = next[sourceNo] + gap;
            next[sourceNo] = line + 1;
            expected.push([rowid(sourceNo, line), ...r, `source ${sourceNo}`, line]);
            return line - firstLine;
          });
          return { sourceNo, source: `source ${sourceNo}`, firstLine, lineOffsets, values };
        });
        db.transaction(() => insert(made))();
        expected.sort((a, b) => (a[0] as number) - (b[0] as number));
        assert.deepEqual(read.all(), expected);
      }),
      { numRuns: 150 },
    );
  } finally {
    close();
  }
});
