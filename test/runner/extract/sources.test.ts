/** Edge-case files through the real CLI: every line is loaded, quarantined or skipped, and counted. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { lines, record, records, tempDir, writeSources } from '../../support/fixtures.ts';
import { runCli } from '../../support/cli.ts';

function load(contents: [string, string], extra: string[] = []) {
  const dir = writeSources(contents);
  const db = path.join(dir, 'out', 'census.db');
  const r = runCli([
    'run',
    '--unthrottled',
    '--data-dir',
    dir,
    '--db',
    db,
    '--log',
    path.join(dir, 'out', 'log'),
    ...extra,
  ]);
  return { ...r, db, dir };
}

function tables(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      adult: d.prepare('SELECT * FROM adult ORDER BY source, line').all() as Record<string, unknown>[],
      quarantine: d
        .prepare('SELECT source, line, raw, reason FROM quarantine ORDER BY source, line')
        .all() as Record<string, unknown>[],
      sources: d
        .prepare(
          'SELECT name, lines, next_line - 1 AS read, loaded, quarantined, skipped FROM sources ORDER BY no',
        )
        .all(),
    };
  } finally {
    d.close();
  }
}

test('CRLF endings, a BOM, blank and comment lines: loaded and skipped, each line counted', () => {
  const data = `\uFEFF${records(3).join('\r\n')}\r\n\r\n`;
  // The test file has no final newline.
  const testFile = `|1x3 Cross validator\n\n${record(7, { class: '>50K.' })}\n   \n${record(8)}`;
  const r = load([data, testFile]);
  assert.equal(r.code, 0, r.stderr);
  const t = tables(r.db);
  assert.deepEqual(t.sources, [
    { name: 'Adult.data', lines: 4, read: 4, loaded: 3, quarantined: 0, skipped: 1 },
    { name: 'Adult.test', lines: 5, read: 5, loaded: 2, quarantined: 0, skipped: 3 },
  ]);
  assert.deepEqual(
    t.adult.map((row) => [row.source, row.line]),
    [
      ['Adult.data', 1],
      ['Adult.data', 2],
      ['Adult.data', 3],
      ['Adult.test', 3],
      ['Adult.test', 5],
    ],
  );
  assert.equal(t.adult[0].age, 0, 'the BOM is not part of the first field');
  assert.equal(t.adult[2].class, record(2).split(', ').at(-1), 'no carriage return left in the class');
  assert.equal(t.adult[3].class, '>50K');
});

test('bad records are quarantined with source, line, raw text and reason; the rest loads', () => {
  const bad = [
    record(1).split(', ').slice(0, 14).join(', '), // 14 fields
    `${record(2)}, extra`, // 16 fields
    record(3, { workclass: 'Astronaut' }), // unknown category
    record(4, { fnlwgt: '12x' }), // not an integer
    record(5, { 'capital-loss': '-1' }), // negative
    record(6, { fnlwgt: '99999999999999999999' }), // too large
    'a "quoted, field" line',
  ];
  const r = load([lines([record(0), ...bad, record(9)]), lines([record(10)])]);
  assert.equal(r.code, 0, r.stderr);
  const t = tables(r.db);
  assert.deepEqual(
    t.adult.map((row) => row.line),
    [1, 9, 1],
  );
  assert.deepEqual(
    t.quarantine.map((q) => [q.line, q.raw, q.reason]),
    [
      [2, bad[0], 'expected 15 fields separated by ",", found 14'],
      [3, bad[1], 'expected 15 fields separated by ",", found 16'],
      [4, bad[2], 'workclass: "Astronaut" is not in its enum (8 values)'],
      [5, bad[3], 'fnlwgt: "12x" is not an integer'],
      [6, bad[4], 'capital-loss: -1 is outside 0..9007199254740991'],
      [7, bad[5], 'fnlwgt: "99999999999999999999" is too large (beyond ±9,007,199,254,740,991)'],
      [8, bad[6], 'expected 15 fields separated by ",", found 2'],
    ],
  );
  assert.match(r.stdout, /done: 3 loaded, 7 quarantined, 0 skipped = 10 of 10 records/);
});

test('a batch holds exactly batch-size records across the boundary of the two files', () => {
  const r = load([lines(records(5)), lines(['|comment', ...records(4, 5), ''])], ['--batch-size', '3']);
  assert.equal(r.code, 0, r.stderr);
  const d = new Database(r.db, { readonly: true });
  const batches = d
    .prepare('SELECT loaded + quarantined AS records, skipped FROM batches ORDER BY batch')
    .all();
  d.close();
  // 9 records: 3 + 3 + 3; the comment rides with the batch that reads it, the trailing blank with the last.
  assert.deepEqual(batches, [
    { records: 3, skipped: 0 },
    { records: 3, skipped: 1 },
    { records: 3, skipped: 1 },
  ]);
});

test('an empty source file, or one of only a byte order mark, is an error naming it; nothing loaded', () => {
  const r = load([lines([record(0)]), '']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /source .*Adult\.test: the file is empty$/m);
  assert.equal(r.stdout.includes('batch 1'), false);
  const bom = load([lines([record(0)]), '\uFEFF']);
  assert.equal(bom.code, 1);
  assert.match(bom.stderr, /source .*Adult\.test: the file is empty \(only a byte order mark\)$/m);
  assert.equal(bom.stdout.includes('batch 1'), false);
});

test('a missing source file is an error naming it', () => {
  const dir = tempDir();
  const r = runCli([
    'run',
    '--unthrottled',
    '--data-dir',
    dir,
    '--db',
    path.join(dir, 'c.db'),
    '--log',
    path.join(dir, 'log'),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /source .*Adult\.data: file not found/);
});

test('two sources of one file name (two date partitions): each line quarantined once per source', () => {
  const days = ['2026/11/24', '2026/11/25'].map((day, k) => {
    const dir = path.join(tempDir(), day);
    // Line 2 of each is bad: the same (name, line) in both.
    writeSources([lines([record(k), record(k + 1, { age: 'x' }), record(k + 2)]), ''], dir);
    return { uri: path.join(dir, 'Adult.data') };
  });
  const dir = tempDir();
  const database = path.join(dir, 'census.db');
  const params = { sources: days, database, log: path.join(dir, 'log'), unthrottled: true };
  writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
  const r = runCli(['run', '--params', path.join(dir, 'params.json'), '--batch-size', '2']);
  assert.equal(r.code, 0, r.stderr);
  const t = tables(params.database);
  assert.deepEqual(t.sources, [
    { name: 'Adult.data', lines: 3, read: 3, loaded: 2, quarantined: 1, skipped: 0 },
    { name: 'Adult.data', lines: 3, read: 3, loaded: 2, quarantined: 1, skipped: 0 },
  ]);
  const d = new Database(params.database, { readonly: true });
  const held = d.prepare('SELECT source_no, source, line FROM quarantine ORDER BY source_no').all();
  d.close();
  assert.deepEqual(held, [
    { source_no: 0, source: 'Adult.data', line: 2 },
    { source_no: 1, source: 'Adult.data', line: 2 },
  ]);
  assert.deepEqual(
    t.adult.map((row) => [row.source, row.line]),
    [
      ['Adult.data', 1],
      ['Adult.data', 1],
      ['Adult.data', 3],
      ['Adult.data', 3],
    ],
  );
});
