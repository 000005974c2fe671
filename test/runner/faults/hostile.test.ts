/**
 * Hostile and unusual inputs, through the CLI as a user runs it: a line of millions of
 * delimiters, files in another encoding or with CR line ends, a file that is mostly wrong, a
 * header that does not match, a descriptor census-etl cannot honour, credentials in a source
 * URL, and a real CSV's quoting (fields holding delimiters, quotes, line ends; CRLF; a
 * repeated primary key). Each ends as the docs' failure table says.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../../support/fixtures.ts';

const run = (dir: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(
    [
      'run',
      '--unthrottled',
      '--db',
      path.join(dir, 'out', 'census.db'),
      '--log',
      path.join(dir, 'out', 'run.log'),
      ...extra,
    ],
    env,
  );

const rows = (dir: string, sql: string) => {
  const db = new Database(path.join(dir, 'out', 'census.db'), { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
};

test('a line of 3 million delimiters mid-file is quarantined, cut, named; the rest loads', () => {
  const data = [...records(2000), ','.repeat(3_000_000), ...records(2000, 2000)];
  const dir = writeSources([lines(data), lines(records(5))]);
  const r = run(dir, ['--data-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const [q] = rows(dir, 'SELECT line, length(raw) AS raw, reason FROM quarantine') as {
    line: number;
    raw: number;
    reason: string;
  }[];
  assert.equal(q.line, 2001);
  assert.ok(q.raw <= 4097, `raw kept: ${q.raw} characters`);
  assert.match(q.reason, /^record of 3000001 bytes is longer than the limit of 1048576 \(maxRecordBytes\)$/);
  assert.deepEqual(rows(dir, 'SELECT count(*) AS n FROM adult'), [{ n: 4005 }]);
});

test('a UTF-16 file stops the run before loading, naming the encoding; CR-only line ends too', () => {
  const dir = writeSources([lines(records(3)), lines(records(3))]);
  writeFileSync(
    path.join(dir, 'Adult.test'),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines(records(3)), 'utf16le')]),
  );
  const r = run(dir, ['--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Adult\.test: the file is UTF-16LE \(its byte order mark says so\); census-etl reads UTF-8/,
  );
  writeFileSync(path.join(dir, 'Adult.test'), records(3).join('\r'));
  const cr = run(dir, ['--data-dir', dir]);
  assert.equal(cr.code, 1);
  assert.match(cr.stderr, /Adult\.test: its lines end with CR alone/);
});

test('a source mostly quarantined stops the run past maxQuarantinedShare, naming it', () => {
  const bad = Array.from({ length: 3000 }, (_, i) => record(i, { age: 'x' }));
  const dir = writeSources([lines(bad), lines(records(5))]);
  const r = run(dir, ['--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      'source .*Adult\\.data: 1630 of 1630 records quarantined \\(100\\.0%, more than ' +
        'maxQuarantinedShare 0\\.1\\); line 1: age: "x" is not an integer;',
    ),
  );
  assert.deepEqual(rows(dir, 'SELECT count(*) AS n FROM quarantine'), [{ n: 0 }], 'nothing committed');
});

/** A one-table dataset of people with a header, quoting and a primary key. */
function peopleDataset(dir: string, csv: string, schema: object = {}): string {
  writeFileSync(path.join(dir, 'people.csv'), csv);
  const descriptor = {
    name: 'people',
    resources: [
      {
        name: 'people',
        path: 'people.csv',
        schema: {
          fields: [
            { name: 'id', type: 'integer' },
            { name: 'full name', type: 'string' },
            { name: 'born', type: 'date' },
            { name: 'ok', type: 'boolean' },
          ],
          primaryKey: ['id'],
          ...schema,
        },
      },
    ],
  };
  const file = path.join(dir, 'datapackage.json');
  writeFileSync(file, JSON.stringify(descriptor));
  return file;
}

test('a CSV as it really is: quoted delimiters, quotes, line ends; CRLF; a repeated key', () => {
  const dir = tempDir();
  const csv =
    'id,full name,born,ok\r\n' +
    '1,"Smith, Jo",2001-02-03,true\r\n' +
    '2,"two\r\nlines and ""quotes""",2000-01-01,false\r\n' +
    '2,repeated,1999-12-31,true\r\n' +
    '3,bad,2000-13-01,maybe\r\n' +
    '\r\n' +
    '4,,,\r\n';
  const r = run(dir, ['--dataset', peopleDataset(dir, csv)]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    rows(dir, 'SELECT rowid, id, "full name" AS name, born, ok, _line FROM people ORDER BY id'),
    [
      { rowid: 2, id: 1, name: 'Smith, Jo', born: '2001-02-03', ok: 1, _line: 2 },
      { rowid: 3, id: 2, name: 'two\r\nlines and "quotes"', born: '2000-01-01', ok: 0, _line: 3 },
      { rowid: 8, id: 4, name: null, born: null, ok: null, _line: 8 },
    ],
  );
  assert.deepEqual(rows(dir, 'SELECT line, reason FROM quarantine ORDER BY line'), [
    { line: 5, reason: "primary key (id) = (2) repeats an earlier row's" },
    {
      line: 6,
      reason:
        'born: "2000-13-01" is not a date (YYYY-MM-DD); ok: "maybe" is not one of its true or false values',
    },
  ]);
  const [s] = rows(dir, 'SELECT lines, records, loaded, quarantined, skipped FROM sources');
  assert.deepEqual(s, { lines: 8, records: 7, loaded: 3, quarantined: 2, skipped: 2 });
});

test('a windows-1252 file: infer says so, it loads as written; a byte not of its encoding held', () => {
  const dir = tempDir();
  const csv = 'id,city,price\n1,Zürich,"€ 5,50"\n2,"Café, ""crème""",smörgåsbord\n';
  writeFileSync(path.join(dir, 'places.csv'), win1252(csv));
  const file = path.join(dir, 'datapackage.json');
  const inferred = runCli(['infer', path.join(dir, 'places.csv'), '--out', file]);
  assert.equal(inferred.code, 0, inferred.stderr);
  assert.match(inferred.stderr, /places: not UTF-8 \(line 2 is not\): read as windows-1252/);
  const r = run(dir, ['--dataset', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(dir, 'SELECT id, city, price FROM places ORDER BY id'), [
    { id: 1, city: 'Zürich', price: '€ 5,50' },
    { id: 2, city: 'Café, "crème"', price: 'smörgåsbord' },
  ]);

  // In ISO-8859-7 the byte 0xAE means nothing: that record is quarantined, naming the encoding.
  const greek = tempDir();
  const bytes = Buffer.concat([
    Buffer.from('id,city,price\n1,'),
    Buffer.from([0xc1, 0xae]),
    Buffer.from(',x\n'),
  ]);
  writeFileSync(path.join(greek, 'places.csv'), bytes);
  const descriptor = JSON.parse(readFileSync(file, 'utf8'));
  Object.assign(descriptor.resources[0], { encoding: 'iso-8859-7', hash: undefined, bytes: undefined });
  writeFileSync(path.join(greek, 'datapackage.json'), JSON.stringify(descriptor));
  const g = run(greek, ['--dataset', path.join(greek, 'datapackage.json')]);
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual(rows(greek, 'SELECT line, raw, reason FROM quarantine'), [
    { line: 2, raw: '1,\u0391\ufffd,x', reason: 'not valid iso-8859-7' },
  ]);

  descriptor.resources[0].encoding = 'shift_jis';
  writeFileSync(path.join(greek, 'datapackage.json'), JSON.stringify(descriptor));
  const refused = run(greek, ['--dataset', path.join(greek, 'datapackage.json')]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /resources\[0\]\.encoding: "shift_jis": census-etl reads UTF-8 and single-byte/,
  );
});

/** Text as windows-1252 bytes (the characters used here are all in it). */
function win1252(text: string): Buffer {
  const high: Record<string, number> = { '€': 0x80 };
  return Buffer.from([...text].map((c) => high[c] ?? c.charCodeAt(0)));
}

test('a header that is not the fields: exit 2 before loading, listing what differs', () => {
  const dir = tempDir();
  const r = run(dir, ['--dataset', peopleDataset(dir, 'id,name,born,ok,extra\n1,a,2001-01-01,true,x\n')]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    new RegExp(
      "people\\.csv: its header does not match table people's fields " +
        '\\(missing: "full name"; not in the schema: "name", "extra"\\)',
    ),
  );
});

test('a descriptor census-etl cannot honour: exit 2 naming each property by its JSON path', () => {
  const dir = tempDir();
  const file = peopleDataset(dir, 'id,full name,born,ok\n', {
    foreignKeys: [{ fields: ['id'], reference: { resource: 'x', fields: ['id'] } }],
  });
  const r = run(dir, ['--dataset', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /resources\[0\]\.schema\.foreignKeys/);
});

test('a source URL with user:password@: exit 2 naming the field, the password nowhere', () => {
  const dir = tempDir();
  const params = path.join(dir, 'params.json');
  writeFileSync(params, JSON.stringify({ sources: [{ uri: 'https://etl:s3cr3t-pw@example.com/a.csv' }] }));
  const r = runCli(['run', '--params', params]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /sources\.0\.uri: holds credentials \(user:password@\)/);
  assert.equal(r.stderr.includes('s3cr3t-pw'), false);
});
