/**
 * Parsing a staged source's byte ranges (parseRange), as the parser threads do: every record
 * skipped (blank, comment, the header), quarantined with a reason and its raw text, or a row.
 * Records longer than the limit never cost more memory than the limit: quarantined, their raw
 * text cut, and the records after them parsed as ever. Last, the same through a whole run.
 */
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { Dataset, Dialect, Value } from '../../../runner/dataset/model.ts';
import {
  MAX_FIELDS,
  QUARANTINE,
  RAW_BYTES,
  ROW,
  SKIP,
  parseRange,
  splitFields,
  quotedFields,
  csvFields,
  syntaxOf,
} from '../../../runner/extract/parse.ts';
import { RecordScanner } from '../../../runner/extract/records.ts';
import { stageSources, type StagedSource } from '../../../runner/extract/sources.ts';
import { resolveParams } from '../../../runner/params.ts';
import { runJob } from '../../../runner/pipeline.ts';
import { DEFAULT_RETRY } from '../../../runner/shared/retry.ts';
import { createLog } from '../../../runner/shared/log.ts';
import { DATA_DIR } from '../../support/cli.ts';
import { adult, oneTable } from '../../support/dataset.ts';
import { tempDir } from '../../support/fixtures.ts';
import { rowAt } from '../../../runner/dataset/packing.ts';

type Parsed =
  | { line: number; kind: 'row'; values: Value[] }
  | { line: number; kind: 'quarantine'; reason: string; raw: string }
  | { line: number; kind: 'skip' };

const stage = async (dataset: Dataset, dir: string, maxRecordBytes: number) =>
  (
    await stageSources(dataset, dir, {
      retry: { ...DEFAULT_RETRY, attempts: 1 },
      log: () => {},
      maxRecordBytes,
    })
  ).sources;

/** Every record of a staged source, range by range as the parser threads get them. */
function parseSource(dataset: Dataset, source: StagedSource, maxBytes: number) {
  const table = dataset.tables[source.table];
  const records: Parsed[] = [];
  let nextLine = 1;
  for (const r of source.ranges) {
    const job = { table: source.table, file: source.path, ...r, headerAt: source.headerAt };
    const p = parseRange(table, job, maxBytes);
    let row = 0;
    let held = 0;
    p.kinds.forEach((kind, i) => {
      const line = p.lines[i];
      if (kind === ROW) {
        records.push({ line, kind: 'row', values: rowAt(table, p, row++) });
      } else if (kind === QUARANTINE) {
        records.push({ line, kind: 'quarantine', reason: p.reasons[held], raw: p.raws[held++] });
      } else {
        assert.equal(kind, SKIP);
        records.push({ line, kind: 'skip' });
      }
    });
    assert.equal(row * p.width, p.values.length);
    assert.equal(row, p.packed.length);
    assert.equal(p.ends.at(-1), r.until, 'the range parsed to its end');
    nextLine = p.nextLine;
  }
  assert.equal(records.length, source.records, 'as many records as staging counted');
  return { records, nextLine };
}

/** A file of `text` (or bytes) as a one-table dataset's only file, staged and parsed. */
async function parseText(
  text: string | Buffer,
  o: { fields?: object[]; dialect?: object; maxBytes?: number } = {},
) {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'things.csv'), text);
  const fields = o.fields ?? [{ name: 'id', type: 'integer' }, { name: 'text' }];
  const dataset = await oneTable(fields, { dir, dialect: o.dialect });
  const maxBytes = o.maxBytes ?? 1024;
  const [source] = await stage(dataset, dir, maxBytes);
  return { source, ...parseSource(dataset, source, maxBytes) };
}

test('the header is skipped; blank and comment records are skipped; rows typed', async () => {
  const { records, nextLine } = await parseText('id,text\n1,a\n\n   \n# note,x\n2,b\n', {
    dialect: { commentChar: '#' },
  });
  assert.deepEqual(records, [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, 'a'] },
    { line: 3, kind: 'skip' },
    { line: 4, kind: 'skip' },
    { line: 5, kind: 'skip' },
    { line: 6, kind: 'row', values: [2, 'b'] },
  ]);
  assert.equal(nextLine, 7);
});

test('only the header record is skipped as the header: the same text later is a record', async () => {
  const { records } = await parseText('id,text\nid,text\n');
  assert.deepEqual(records, [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'quarantine', reason: 'id: "id" is not an integer', raw: 'id,text' },
  ]);
});

test('quoted fields: delimiters, doubled quotes, line ends inside; numbered by first line', async () => {
  const text = 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"three\r\nlines\nhere"\r\n5,last';
  const { records, nextLine, source } = await parseText(text);
  assert.deepEqual(records, [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, 'a, b'] },
    { line: 3, kind: 'row', values: [2, 'say "hi"'] },
    { line: 4, kind: 'row', values: [3, 'two\nlines'] },
    { line: 6, kind: 'row', values: [4, 'three\r\nlines\nhere'] },
    { line: 9, kind: 'row', values: [5, 'last'] },
  ]);
  assert.equal(source.lines, 9);
  assert.equal(nextLine, 10, 'the line after the last record (which has no line end)');
});

test('CRLF and LF line ends are read alike: no CR left in the last field', async () => {
  const { records } = await parseText('id,text\r\n1,a\r\n2,b\n3,c\r\n');
  assert.deepEqual(
    records.filter((r) => r.kind === 'row').map((r) => (r as { values: Value[] }).values),
    [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ],
  );
});

test('a record of invalid UTF-8 is quarantined, its raw text kept as well as it reads', async () => {
  const bytes = Buffer.concat([
    Buffer.from('id,text\n1,ok\n2,'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('\n3,fine é\n'),
  ]);
  const { records } = await parseText(bytes);
  assert.deepEqual(records, [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, 'ok'] },
    { line: 3, kind: 'quarantine', reason: 'not valid UTF-8', raw: '2,\uFFFD(\uFFFD' },
    { line: 4, kind: 'row', values: [3, 'fine é'] },
  ]);
});

test('a quote left open at the end of the file: that record quarantined, csv-parse saying why', async () => {
  const { records, source } = await parseText('id,text\n1,a\n2,"never closed\n');
  assert.deepEqual(records.slice(0, 2), [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, 'a'] },
  ]);
  const held = records[2] as { line: number; reason: string; raw: string };
  assert.equal(held.line, 3);
  assert.equal(held.raw, '2,"never closed');
  assert.match(held.reason, /^cannot be read as CSV: Quote Not Closed/);
  assert.equal(source.lines, 3);
});

test("a quote inside an unquoted field is text, as Python's csv reads it", async () => {
  const { records } = await parseText('id,text\n1,5\'11" tall\n2,b\n3,c\n');
  assert.deepEqual(records, [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, `5'11" tall`] },
    { line: 3, kind: 'row', values: [2, 'b'] },
    { line: 4, kind: 'row', values: [3, 'c'] },
  ]);
});

test(`more than ${MAX_FIELDS} fields: quarantined before csv-parse builds them`, async () => {
  const many = `1,${'x,'.repeat(MAX_FIELDS)}x`;
  const { dialect } = (await oneTable([{ name: 'a' }])).tables[0];
  assert.equal(splitFields(dialect, many), `more than ${MAX_FIELDS} fields`);
  assert.equal(splitFields(dialect, `${many},"quoted"`), `more than ${MAX_FIELDS} fields`);
  const { records } = await parseText(`id,text\n${many}\n2,b\n`, { maxBytes: 1 << 20 });
  assert.deepEqual(
    records.map((r) => (r.kind === 'quarantine' ? r.reason : r.kind)),
    ['skip', `more than ${MAX_FIELDS} fields`, 'row'],
  );
});

test(`a quoted field holding more than ${MAX_FIELDS} delimiters is one field`, async () => {
  const text = `"${'a,'.repeat(MAX_FIELDS)}"`;
  const { records } = await parseText(`id,text\n1,${text}\n`, { maxBytes: 1 << 20 });
  const [, record] = records;
  const got = record.kind === 'quarantine' ? record.reason : record.kind;
  assert.equal(got, 'row');
});

test('millions of delimiters on a line: quarantined naming maxRecordBytes, raw cut', async () => {
  const delimiters = 3_000_000;
  const maxBytes = 1 << 20;
  const text = `id,text\n1,a\n${','.repeat(delimiters)}\n2,b\n3,c\n`;
  const { records, nextLine, source } = await parseText(text, { maxBytes });
  assert.deepEqual(
    source.ranges.map((r) => r.overlong),
    [false, true, false],
    'the long record is a range of its own',
  );
  assert.deepEqual(records.slice(0, 2), [
    { line: 1, kind: 'skip' },
    { line: 2, kind: 'row', values: [1, 'a'] },
  ]);
  const held = records[2] as { line: number; kind: string; reason: string; raw: string };
  assert.equal(held.kind, 'quarantine');
  assert.equal(held.line, 3);
  assert.equal(
    held.reason,
    `record of ${delimiters + 1} bytes is longer than the limit of ${maxBytes} (maxRecordBytes)`,
  );
  assert.equal(held.raw, `${','.repeat(RAW_BYTES)}…`, 'its first RAW_BYTES bytes, marked as cut');
  assert.deepEqual(records.slice(3), [
    { line: 4, kind: 'row', values: [2, 'b'] },
    { line: 5, kind: 'row', values: [3, 'c'] },
  ]);
  assert.equal(nextLine, 6);
});

test('an unterminated quote ends at the first line end past the limit; the lines after parse', async () => {
  const rows = Array.from({ length: 60 }, (_, i) => `${i + 2},row ${i + 2}`);
  const text = `id,text\n1,"never closed\n${rows.join('\n')}\n`;
  const maxBytes = 256;
  const { records, nextLine, source } = await parseText(text, { maxBytes });
  const held = records[1] as { line: number; kind: string; reason: string; raw: string };
  assert.equal(held.kind, 'quarantine');
  assert.equal(held.line, 2);
  assert.match(held.reason, new RegExp(`^record of \\d+ bytes is longer than the limit of ${maxBytes} \\(`));
  assert.ok(held.raw.startsWith('1,"never closed\n2,row 2\n') && held.raw.endsWith('…'));
  // Its lines are those up to the first line end past 256 bytes from its start.
  const cut = text.indexOf('\n', text.indexOf('\n') + 1 + maxBytes - 1) + 1;
  const swallowed = text.slice(0, cut).split('\n').length - 1;
  const after = records.slice(2);
  assert.ok(after.length > 0);
  assert.ok(after.every((r) => r.kind === 'row'));
  assert.deepEqual(
    after.map((r) => r.line),
    after.map((_, i) => swallowed + 1 + i),
  );
  assert.equal(nextLine, source.lines + 1);
});

test('Adult: the comment line of Adult.test and a trailing blank line are skipped', async () => {
  const dir = tempDir();
  const valid =
    '39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, ' +
    'White, Male, 2174, 0, 40, United-States, <=50K.';
  writeFileSync(path.join(dir, 'Adult.data'), `${valid}\n`);
  writeFileSync(path.join(dir, 'Adult.test'), `|1x3 Cross validator\n${valid}\n\n`);
  const dataset = await adult(dir);
  const [, test_] = await stage(dataset, dir, 1 << 20);
  const { records } = parseSource(dataset, test_, 1 << 20);
  assert.deepEqual(
    records.map((r) => [r.line, r.kind]),
    [
      [1, 'skip'],
      [2, 'row'],
      [3, 'skip'],
    ],
  );
  assert.equal((records[1] as { values: Value[] }).values[14], '<=50K');
});

test(
  'the real Adult.data with a line of 3,000,000 delimiters in its middle: the run completes, ' +
    'that line quarantined, every other record as without it',
  async () => {
    const dir = tempDir();
    const original = readFileSync(path.join(DATA_DIR, 'Adult.data'), 'utf8').split('\n');
    const at = 16_000; // the 0-based index of the long line: physical line 16,001
    const fd = openSync(path.join(dir, 'Adult.data'), 'w');
    writeSync(fd, `${original.slice(0, at).join('\n')}\n`);
    writeSync(fd, `${', '.repeat(1_500_000)}\n`);
    writeSync(fd, original.slice(at).join('\n'));
    closeSync(fd);
    copyFileSync(path.join(DATA_DIR, 'Adult.test'), path.join(dir, 'Adult.test'));
    const out = path.join(dir, 'out');
    const params = await resolveParams(
      undefined,
      { dataDir: dir, database: path.join(out, 'census.db'), log: path.join(out, 'log'), unthrottled: true },
      {},
    );
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const outcome = await runJob(params, { log: createLog(params.log, quiet) });
    assert.equal(outcome.status.complete, true);

    const db = new Database(params.database, { readonly: true });
    try {
      const held = db
        .prepare("SELECT line, length(raw) AS length, reason FROM quarantine WHERE source = 'Adult.data'")
        .all() as { line: number; length: number; reason: string }[];
      const long = held.find((h) => h.line === at + 1);
      assert.ok(long, `line ${at + 1} quarantined: ${JSON.stringify(held)}`);
      assert.equal(
        long.reason,
        'record of 3000001 bytes is longer than the limit of 1048576 (maxRecordBytes)',
      );
      assert.ok(long.length <= RAW_BYTES + 1, `raw text cut: ${long.length} characters`);
      // The lines after it keep their own numbers: the original line n is line n + 1 now.
      const after = db.prepare(
        "SELECT line, age, fnlwgt FROM adult WHERE source = 'Adult.data' AND line = ?",
      );
      const [age, , fnlwgt] = original[at].split(', ');
      assert.deepEqual(after.get(at + 2), { line: at + 2, age: Number(age), fnlwgt: Number(fnlwgt) });
      const loaded = db.prepare('SELECT sum(loaded), sum(quarantined) FROM sources').raw().get();
      assert.deepEqual(loaded, [48_837, 6], "every other record as in the real files' load");
    } finally {
      db.close();
    }
  },
);

test('a run over a file whose last record leaves a quote open completes, it quarantined', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'things.csv'), 'id,text\n1,a\n2,"never closed\n');
  const descriptor = {
    name: 'open-quote',
    resources: [
      {
        name: 'things',
        path: 'things.csv',
        schema: { fields: [{ name: 'id', type: 'integer' }, { name: 'text' }] },
      },
    ],
  };
  writeFileSync(path.join(dir, 'datapackage.json'), JSON.stringify(descriptor));
  const out = path.join(dir, 'out');
  const params = await resolveParams(
    undefined,
    {
      dataset: path.join(dir, 'datapackage.json'),
      database: path.join(out, 'census.db'),
      log: path.join(out, 'log'),
      unthrottled: true,
    },
    {},
  );
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const outcome = await runJob(params, { log: createLog(params.log, quiet) });
  assert.equal(outcome.status.complete, true);
  assert.deepEqual(
    [outcome.status.totals.loaded, outcome.status.totals.quarantined, outcome.status.totals.linesRead],
    [1, 1, 3],
  );
});

/** The records the scanner finds in `text`, as the parser threads see them (no line end). */
function scannedRecords(d: Dialect, text: string): string[] {
  const bytes = Buffer.from(text);
  const records: string[] = [];
  const scanner = new RecordScanner(syntaxOf(d, 1 << 20), (r) =>
    records.push(bytes.toString('utf8', r.start, r.end).replace(/\r?\n$/, '')),
  );
  scanner.push(bytes, 0);
  scanner.finish(bytes.length);
  return records;
}

test('a record quoted the regular way is split as csv-parse splits it; others go to csv-parse', async () => {
  const base = (await oneTable([{ name: 'a' }])).tables[0].dialect;
  const unit = fc.constantFrom('a', ',', ';', '"', '\\', '\n', ' ', 'é');
  let fast = 0;
  fc.assert(
    fc.property(
      fc.string({ unit, maxLength: 40 }),
      fc.constantFrom(',', ';'),
      fc.boolean(),
      (text, delimiter, dq) => {
        const d = { ...base, delimiter, doubleQuote: dq };
        for (const record of scannedRecords(d, text).filter((r) => r.includes('"'))) {
          const fields = quotedFields(d, record);
          if (fields === null) continue;
          fast++;
          assert.deepEqual(fields, csvFields(d, record), JSON.stringify(record));
        }
      },
    ),
    { numRuns: 5000 },
  );
  assert.ok(fast > 1000, `only ${fast} records were split without csv-parse`);
  assert.deepEqual(quotedFields(base, '"a ""b"", c",d,"",'), ['a "b", c', 'd', '', '']);
  assert.equal(quotedFields(base, '"a"b,c'), null);
  assert.equal(quotedFields(base, '"open'), null);
});

test('RecordScanner and csv-parse agree: a record the scanner finds is one record to csv-parse', async () => {
  const base = (await oneTable([{ name: 'a' }])).tables[0].dialect;
  const unit = fc.constantFrom('a', ',', ';', '"', '\\', '\n', ' ', 'é');
  fc.assert(
    fc.property(
      fc.string({ unit, maxLength: 40 }),
      fc.constantFrom(',', ';'),
      fc.boolean(),
      fc.constantFrom(null, '\\'),
      (text, delimiter, skipInitialSpace, escapeChar) => {
        const d = { ...base, delimiter, skipInitialSpace, escapeChar, doubleQuote: escapeChar === null };
        for (const record of scannedRecords(d, text)) {
          const fields = splitFields(d, record);
          assert.ok(!/^quoting makes/.test(String(fields)), `${JSON.stringify(record)}: ${String(fields)}`);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
