/** The whole job on the real dataset, through the CLI, as `npm start -- --unthrottled` runs it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { COLUMNS } from '../../runner/dataset/adult.ts';
import { DATA_DIR, finished, runCli, startCli } from '../support/cli.ts';
import { waitForLine } from '../support/watch.ts';
import { lines, records, tempDir, writeSources } from '../support/fixtures.ts';

const dir = tempDir();
const db = path.join(dir, 'census.db');
const log = path.join(dir, 'census-etl.log');
const first = runCli(['--unthrottled', '--db', db, '--log', log], { CENSUS_DATA_DIR: DATA_DIR });

test('the real dataset loads: 48,837 rows, 5 quarantined with reasons, 3 lines skipped, 30 batches', () => {
  assert.equal(first.code, 0, first.stderr);
  const d = new Database(db, { readonly: true });
  const count = (sql: string) => d.prepare(sql).pluck().get();
  assert.equal(count('SELECT count(*) FROM adult'), 48837);
  assert.equal(count("SELECT count(*) FROM adult WHERE source = 'Adult.data'"), 32557);
  assert.equal(count('SELECT count(*) FROM batches'), 30);
  assert.deepEqual(d.prepare('SELECT loaded + quarantined FROM batches ORDER BY batch').pluck().all(), [
    ...Array(29).fill(1630),
    48842 - 29 * 1630,
  ]);
  assert.deepEqual(d.prepare('SELECT source, line, reason FROM quarantine ORDER BY source, line').all(), [
    { source: 'Adult.data', line: 49, reason: 'capital-gain: "A" is not an integer' },
    { source: 'Adult.data', line: 22198, reason: 'age: "B" is not an integer' },
    { source: 'Adult.data', line: 22819, reason: 'fnlwgt: "C" is not an integer' },
    { source: 'Adult.data', line: 32541, reason: 'age: "D" is not an integer' },
    { source: 'Adult.test', line: 31, reason: 'hours-per-week: "E" is not an integer' },
  ]);
  assert.deepEqual(
    d.prepare('SELECT name, lines, loaded + quarantined + skipped AS accounted, skipped FROM sources').all(),
    [
      { name: 'Adult.data', lines: 32562, accounted: 32562, skipped: 1 },
      { name: 'Adult.test', lines: 16283, accounted: 16283, skipped: 2 },
    ],
  );
  // Cleaning: no trailing dot survives, "?" is NULL, never the string.
  assert.deepEqual(d.prepare('SELECT DISTINCT class FROM adult ORDER BY 1').pluck().all(), ['<=50K', '>50K']);
  assert.equal(
    count(`SELECT count(*) FROM adult WHERE ${COLUMNS.map((c) => `"${c.name}" = '?'`).join(' OR ')}`),
    0,
  );
  assert.equal(count('SELECT count(*) FROM adult WHERE workclass IS NULL'), 2799);
  d.close();
});

test("the types and domains are the database's: STRICT integers and CHECKed categories", () => {
  const d = new Database(db);
  assert.throws(
    () => d.prepare("INSERT INTO adult (age, source, line) VALUES ('forty', 'x', 1)").run(),
    /cannot store TEXT value in INTEGER column/,
  );
  assert.throws(
    () => d.prepare("INSERT INTO adult (sex, source, line) VALUES ('Other', 'x', 1)").run(),
    /CHECK constraint failed/,
  );
  d.close();
});

test('the log has a start line with the parameters, one line per batch and a final summary', () => {
  const text = readFileSync(log, 'utf8');
  assert.match(
    text,
    new RegExp(
      'census-etl run starting; dataset: adult \\(built in\\); data dir: .*; database: .*; ' +
        'batch size: 1630; schedule: unthrottled',
    ),
  );
  const batchLines = text.split('\n').filter((l) => / batch \d+\/\d+: /.test(l));
  assert.equal(batchLines.length, 30);
  assert.match(
    batchLines[0],
    /batch 1\/30: 1629 loaded, 1 quarantined, 0 skipped \| 3\.3% \| ETA .* \| [\d.]+ ms$/,
  );
  assert.match(batchLines[29], /batch 30\/30: 1572 loaded, 0 quarantined, 1 skipped \| 100\.0% \|/);
  assert.match(text, /done: 48837 loaded, 5 quarantined, 3 skipped = 48845 of 48845 records in 30 batches/);
});

test('status prints progress per source; --json gives the same numbers to machines', () => {
  const human = runCli(['status', '--db', db]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /complete, 100% of 48845 records\nrun: \d{8}T\d{6}Z-local \(release local\)\n/);
  assert.match(
    human.stdout,
    /Adult\.test\s+16283\/16283\s+records\s+16280 loaded\s+1 quarantined\s+2 skipped/,
  );
  const json = JSON.parse(runCli(['status', '--db', db, '--json']).stdout);
  assert.deepEqual(json.totals, {
    lines: 48845,
    linesRead: 48845,
    records: 48845,
    recordsRead: 48845,
    loaded: 48837,
    quarantined: 5,
    skipped: 3,
    percent: 100,
  });
  assert.equal(json.batches.count, 30);
});

test('running again on a finished database changes nothing', () => {
  const again = runCli(['--unthrottled', '--db', db, '--log', log], { CENSUS_DATA_DIR: DATA_DIR });
  assert.equal(again.code, 0, again.stderr);
  const d = new Database(db, { readonly: true });
  assert.equal(d.prepare('SELECT count(*) FROM adult').pluck().get(), 48837);
  assert.equal(d.prepare('SELECT count(*) FROM batches').pluck().get(), 30);
  d.close();
});

test('a database part-loaded from some files refuses to resume from others', async () => {
  const partial = path.join(dir, 'partial.db');
  const child = startCli(['--every', '1', '--db', partial, '--log', log], { CENSUS_DATA_DIR: DATA_DIR });
  const killed = finished(child);
  assert.ok(await waitForLine(child, / batch 1\/\d+: /));
  child.kill('SIGKILL');
  await killed;
  // Same names, other bytes: the recorded checksums tell them apart.
  const mixed = writeSources([lines(records(2)), lines(records(2))], path.join(dir, 'mixed'));
  const r = runCli(['--unthrottled', '--db', partial, '--log', log, '--data-dir', mixed]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      'was loaded from Adult\\.data \\(6068bb5739b2\\), Adult\\.test \\(158918d9895a\\); ' +
        'the sources now are',
    ),
  );
});
