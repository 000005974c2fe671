/**
 * The COPY path: values encoded as CSV come back from PostgreSQL equal, and a COPY that fails,
 * is aborted or loses its backend mid-stream commits nothing, with its checkpoint update.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { copyRows, csvField, csvRow, type CsvValue } from '../../../../runner/store/postgres/copy.ts';
import { postgresSettings } from '../../../../runner/store/postgres/settings.ts';
import { tempDir } from '../../../support/fixtures.ts';
import { skipUnlessPostgres, startPostgres, type TestPostgres } from '../../../support/postgres.ts';

test('csvField: quotes only when needed, "" is not NULL, numbers and booleans as PostgreSQL reads', () => {
  const cases: [CsvValue, string][] = [
    ['plain text', 'plain text'],
    ['', '""'],
    [null, ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    ['\\.', '"\\."'],
    [1.5, '1.5'],
    [-0, '-0'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [NaN, 'NaN'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    [true, 't'],
    [false, 'f'],
  ];
  for (const [value, field] of cases) assert.equal(csvField(value), field, String(value));
  assert.equal(csvRow([1, null, '', 'x,y']), '1,,"","x,y"\n');
});

test('csvField: every double reads back as itself', () => {
  fc.assert(fc.property(fc.double(), (x) => Object.is(Number(csvField(x)), x)));
});

const skip = skipUnlessPostgres();
let cluster: TestPostgres;
let client: pg.Client;
/** Another session, to look at what is committed and at the COPY in progress. */
let observer: pg.Client;

async function connect(): Promise<pg.Client> {
  const c = new pg.Client(postgresSettings(cluster.superuserUrl, { HOME: tempDir() }).client);
  c.on('error', () => undefined);
  return c.connect();
}

const COLUMNS = ['id', 'label', 'value', 'flag'];
before(async () => {
  if (skip) return;
  cluster = await startPostgres();
  cluster.sql('CREATE TABLE t (id integer, label text, value float8, flag boolean)');
  cluster.sql('CREATE TABLE checkpoint (batch integer NOT NULL)');
  cluster.sql('INSERT INTO checkpoint VALUES (0)');
  [client, observer] = await Promise.all([connect(), connect()]);
});
after(async () => {
  await client?.end().catch(() => undefined);
  await observer?.end();
  cluster?.stop();
});

/** Begins a batch: the checkpoint moves to `batch` in the same transaction as its rows. */
async function beginBatch(c: pg.Client, batch: number) {
  await c.query('BEGIN');
  await c.query('UPDATE checkpoint SET batch = $1', [batch]);
}
const committed = async () => ({
  rows: Number((await observer.query('SELECT count(*) AS n FROM t')).rows[0].n),
  batch: (await observer.query('SELECT batch FROM checkpoint')).rows[0].batch as number,
});
const reset = async () => observer.query('TRUNCATE t; UPDATE checkpoint SET batch = 0');

/** Enough rows that the COPY is still running when it is looked at: about 25 MB. */
const bigBatch = () => {
  const row = (i: number) => csvRow([i, `row ${i}, with "quotes" and a comma`.repeat(4), i / 7, i % 2 === 0]);
  return Buffer.from(Array.from({ length: 200_000 }, (_, i) => row(i)).join(''));
};

/** Waits until the server has taken in some rows of the COPY; returns its backend's pid. */
async function copyUnderway(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const { rows } = await observer.query('SELECT pid FROM pg_stat_progress_copy WHERE tuples_processed > 0');
    if (rows.length) return rows[0].pid as number;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the COPY never got under way');
}

test('awkward values go through COPY and come back equal', { skip, timeout: 30_000 }, async () => {
  await reset();
  const rows: CsvValue[][] = [
    [1, 'say "hi", then go', 0.1, true],
    [2, 'two\nlines\r\nand a CR\r', -0, false],
    [3, '', null, null],
    [4, null, Infinity, true],
    [5, '𝔘nicode ✓ é — 中文', -Infinity, false],
    [6, '\\.', 5e-324, true],
    [7, '  padded  ', 1.7976931348623157e308, false],
    [8, 'NULL', NaN, true],
    [9, 'back\\slash\ttab', -1.2345678901234567e-300, null],
  ];
  await beginBatch(client, 1);
  const count = await copyRows(client, 't', COLUMNS, Buffer.from(rows.map(csvRow).join('')));
  await client.query('COMMIT');
  assert.equal(count, rows.length);
  const back = await observer.query({
    text: 'SELECT id, label, value, flag FROM t ORDER BY id',
    rowMode: 'array',
  });
  assert.deepStrictEqual(back.rows, rows);
  assert.deepEqual(await committed(), { rows: rows.length, batch: 1 });
});

test('\\. alone on a line is data, not the end of the data', { skip, timeout: 30_000 }, async () => {
  cluster.sql('CREATE TABLE notes (note text)');
  await client.query('BEGIN');
  const notes = ['\\.', 'after it'];
  await copyRows(client, 'notes', ['note'], Buffer.from(notes.map((n) => csvRow([n])).join('')));
  await client.query('COMMIT');
  const back = await observer.query({ text: 'SELECT note FROM notes', rowMode: 'array' });
  assert.deepEqual(back.rows.flat(), notes);
});

test(
  'a row the server rejects: nothing committed, and the client idle and usable',
  { skip, timeout: 30_000 },
  async () => {
    await reset();
    await beginBatch(client, 2);
    const csv = Buffer.from(csvRow([1, 'fine', 1, true]) + csvRow(['not a number', 'bad', 2, false]));
    await assert.rejects(copyRows(client, 't', COLUMNS, csv), { code: '22P02' });
    assert.equal(client.getTransactionStatus(), 'I', 'rolled back');
    assert.deepEqual(await committed(), { rows: 0, batch: 0 });
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  },
);

test(
  'aborted mid-stream (the stream destroyed): nothing committed, the client usable',
  { skip },
  async () => {
    await reset();
    await beginBatch(client, 3);
    const abort = new AbortController();
    const copying = copyRows(client, 't', COLUMNS, bigBatch(), abort.signal);
    await copyUnderway();
    abort.abort(new Error('stopping'));
    await assert.rejects(copying, /stopping/);
    assert.equal(client.getTransactionStatus(), 'I', 'rolled back');
    assert.deepEqual(await committed(), { rows: 0, batch: 0 });
    assert.equal((await client.query('SELECT count(*) AS n FROM t')).rows[0].n, '0');
  },
);

test(
  'its backend terminated mid-stream: nothing committed, and the client clearly dead',
  { skip },
  async () => {
    await reset();
    const doomed = await connect();
    await beginBatch(doomed, 4);
    const copying = copyRows(doomed, 't', COLUMNS, bigBatch());
    const pid = await copyUnderway();
    await observer.query('SELECT pg_terminate_backend($1)', [pid]);
    await assert.rejects(copying, { code: '57P01' });
    assert.deepEqual(await committed(), { rows: 0, batch: 0 });
    await assert.rejects(doomed.query('SELECT 1'), /not queryable/);
  },
);

test(
  "onFailure 'caller': the transaction is left for a rollback to the caller's savepoint",
  { skip, timeout: 30_000 },
  async () => {
    await reset();
    await beginBatch(client, 5);
    await copyRows(client, 't', COLUMNS, Buffer.from(csvRow([1, 'before', 1, true])));
    await client.query('SAVEPOINT rows');
    const csv = Buffer.from(csvRow([2, 'fine', 1, true]) + csvRow(['not a number', 'bad', 2, false]));
    await assert.rejects(copyRows(client, 't', COLUMNS, csv, undefined, { onFailure: 'caller' }), {
      code: '22P02',
    });
    // Failed, not ended: the server refuses the next statement until the rollback.
    await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
    await client.query('ROLLBACK TO SAVEPOINT rows');
    await copyRows(client, 't', COLUMNS, Buffer.from(csvRow([3, 'after', 1, false])));
    await client.query('COMMIT');
    const back = await observer.query({ text: 'SELECT id FROM t ORDER BY id', rowMode: 'array' });
    assert.deepEqual(back.rows.flat(), [1, 3]);
    assert.deepEqual(await committed(), { rows: 2, batch: 5 });
  },
);
