/**
 * The PostgreSQL store against a real throwaway cluster: the schema for any dataset, a batch's
 * one transaction (a backend killed mid-COPY commits nothing, and the run resumes), keys and
 * CHECKs the cleaner could not see, the run lock, tables of our names with another shape, the
 * version and views, the failures a person must act on, and the same content, status, reads and
 * checksums as the SQLite store for the same batches. Each test has a database of its own.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { loadDataset } from '../../../../runner/dataset/dataset.ts';
import { resolveParams } from '../../../../runner/params.ts';
import { runJob } from '../../../../runner/pipeline.ts';
import { createLog } from '../../../../runner/shared/log.ts';
import { localFolderOf } from '../../../../runner/store/store.ts';
import { readDescriptor } from '../../../../runner/dataset/descriptor.ts';
import type { Dataset, Field, Table, Value } from '../../../../runner/dataset/model.ts';
import { castText, isInvalid } from '../../../../runner/dataset/types.ts';
import { UsageError } from '../../../../runner/shared/errors.ts';
import { redact } from '../../../../runner/shared/redact.ts';
import { numbered } from '../../../../runner/store/postgres/database.ts';
import { PostgresError } from '../../../../runner/store/postgres/errors.ts';
import { openPostgres } from '../../../../runner/store/postgres/store.ts';
import { postgresSettings } from '../../../../runner/store/postgres/settings.ts';
import { dataTableSql, SCHEMA_VERSION } from '../../../../runner/store/schema.ts';
import { openSqlite } from '../../../../runner/store/sqlite/store.ts';
import {
  LockedError,
  type Batch,
  type Committed,
  type Quarantined,
  type SourceProgress,
  type SourceRecord,
  type Store,
} from '../../../../runner/store/store.ts';
import { freePort } from '../../../../twin/moto.ts';
import { tempDir } from '../../../support/fixtures.ts';
import { mixedSources } from '../../../support/generate.ts';
import { packRows } from '../../../../runner/dataset/packing.ts';
import {
  makeCertificateAuthority,
  skipUnlessPostgres,
  startPostgres,
  type TestPostgres,
} from '../../../support/postgres.ts';

test('numbered: ? becomes $1, $2…, except inside strings, quoted names and comments', () => {
  const cases: [string, string, number][] = [
    ['SELECT ? , ?', 'SELECT $1 , $2', 2],
    ["SELECT '?', ? FROM t WHERE a = 'it''s ?'", "SELECT '?', $1 FROM t WHERE a = 'it''s ?'", 1],
    ['SELECT "a?""b" FROM t WHERE x = ?', 'SELECT "a?""b" FROM t WHERE x = $1', 1],
    ["SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1", 1],
    ['SELECT $$ ? $$, $q$ ? $q$, ? -- ?\n, /* ? */ ?', 'SELECT $$ ? $$, $q$ ? $q$, $1 -- ?\n, /* ? */ $2', 2],
  ];
  for (const [sql, text, count] of cases) assert.deepEqual(numbered(sql), { text, count }, sql);
});

const skip = skipUnlessPostgres();
let cluster: TestPostgres;
/** The superuser's session: what is committed, and who is doing what. */
let observer: pg.Client;
let adult: Dataset;
let kinds: Dataset;

/** A dataset with every field type census-etl loads, a primary key and CHECKs. */
const KINDS = {
  name: 'kinds',
  resources: [
    {
      name: 'things',
      path: 'things.csv',
      schema: {
        fields: [
          { name: 'id', type: 'integer' },
          { name: 'label', type: 'string', constraints: { maxLength: 12 } },
          { name: 'price', type: 'number', constraints: { minimum: 0 } },
          { name: 'ok', type: 'boolean' },
          { name: 'day', type: 'date' },
          { name: 'at', type: 'datetime' },
          { name: 'clock', type: 'time' },
          { name: 'born', type: 'year' },
          { name: 'kind', type: 'string', constraints: { enum: ['a', 'b'] } },
        ],
        primaryKey: 'id',
      },
    },
  ],
};

before(async () => {
  adult = (await loadDataset(null)).dataset;
  const read = await readDescriptor(KINDS, 'kinds', { kind: 'local', at: tempDir() }, async () => ({}));
  kinds = read.dataset;
  if (skip) return;
  cluster = await startPostgres();
  observer = new pg.Client(postgresSettings(cluster.superuserUrl, { HOME: tempDir() }).client);
  observer.on('error', () => undefined);
  await observer.connect();
});
after(async () => {
  await observer?.end();
  cluster?.stop();
});

let databases = 0;
/** A new, empty database: its URL (as the superuser). */
function fresh(): { url: string; name: string } {
  const name = `db${++databases}`;
  cluster.createDatabase(name);
  return { url: cluster.url({ database: name }), name };
}

const count = async (database: string, sql: string) => Number(cluster.sql(sql, database).split('\n')[0] || 0);

/** One source per table of a dataset, large enough for any test. */
const sourcesOf = (dataset: Dataset): SourceRecord[] =>
  dataset.tables.map((t, no) => ({
    no,
    resource: t.name,
    name: `${t.name}.csv`,
    uri: `/data/${t.name}.csv`,
    sha256: String(no).repeat(64),
    bytes: 1e9,
    lines: 1e7,
    records: 1e7,
  }));

const pad = (n: number) => String(n).padStart(2, '0');

/** A value for row `i` of a field: varied, within its constraints, sometimes missing. */
function valueOf(f: Field, i: number): Value {
  if (!f.required && i % 11 === 5) return null;
  if (f.enum) return f.enum[i % f.enum.length];
  const lo = Number(f.minimum ?? 0);
  const span = Math.min(Number(f.maximum ?? 1e6) - lo + 1, 1000);
  switch (f.type) {
    case 'integer':
    case 'year':
      return lo + ((i * 7919) % span);
    case 'number':
      return ((i * 7919) % 1000) / 8;
    case 'boolean':
      return i % 3 === 0;
    case 'date':
      return `${1990 + (i % 30)}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`;
    case 'datetime':
      return `2020-${pad(1 + (i % 12))}-${pad(1 + (i % 28))} ${pad(i % 24)}:${pad(i % 60)}:${pad(
        (i * 7) % 60,
      )}${i % 4 ? '' : '.5'}`;
    case 'time':
      return `${pad(i % 24)}:${pad((i * 3) % 60)}:${pad(i % 60)}${i % 3 ? '' : '.123'}`;
    default:
      return `text ${i % 97}`;
  }
}
const rowOf = (t: Table, i: number) => t.fields.map((f) => valueOf(f, i));

/** Batches as the pipeline makes them: lines in order per source, the checkpoint moved along. */
class Feed {
  private readonly at = new Map<number, SourceProgress>();
  constructor(private readonly dataset: Dataset) {}

  batch(
    table: string,
    rows: Value[][],
    quarantine: { raw: string; reason: string }[] = [],
    skipped = 0,
  ): Batch {
    const no = this.dataset.tables.findIndex((t) => t.name === table);
    const p = this.at.get(no) ?? { no, nextOffset: 0, nextLine: 1, loaded: 0, quarantined: 0, skipped: 0 };
    const lines = rows.map((_, i) => p.nextLine + i);
    const quarantined: Quarantined[] = quarantine.map((q, i) => ({
      sourceNo: no,
      source: `${table}.csv`,
      line: p.nextLine + rows.length + i,
      ...q,
    }));
    const read = rows.length + quarantine.length + skipped;
    const next = {
      no,
      nextOffset: p.nextOffset + 100 * read,
      nextLine: p.nextLine + read,
      loaded: p.loaded + rows.length,
      quarantined: p.quarantined + quarantine.length,
      skipped: p.skipped + skipped,
    };
    this.at.set(no, next);
    const packed = packRows(this.dataset.tables[no], rows);
    const block = { table, sourceNo: no, source: `${table}.csv`, lines, ...packed };
    return { rows: [block], quarantined, skipped, progress: [next], ms: 1.25 * (lines.length % 7) };
  }

  /** What the database made of a batch (rows it quarantined): the next batches count on. */
  committed(c: Committed): Committed {
    for (const p of c.progress) this.at.set(p.no, p);
    return c;
  }
}

/** A store on a new database, loaded with the dataset's sources and a run. */
async function loaded(dataset: Dataset, url = fresh().url): Promise<Store> {
  const store = await openPostgres(url, { dataset });
  await store.registerSources(sourcesOf(dataset));
  await store.claimRun({ id: '20261205T120000Z-test', release: 'test' });
  return store;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    async (value) => {
      await (value as Store | undefined)?.close?.();
      return null;
    },
    (e: unknown) => e as Error,
  );
  assert.ok(outcome, 'expected a failure');
  return outcome;
}

/** Waits for `check` to hold (a backend's exit, say), up to 5 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 250; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('never happened');
}

/** The backend holding census-etl's run lock on `database`. */
async function lockHolder(database: string): Promise<number | null> {
  const { rows } = await observer.query(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = " +
      '(SELECT oid FROM pg_database WHERE datname = $1)',
    [database],
  );
  return (rows[0]?.pid as number | undefined) ?? null;
}

async function terminate(pid: number) {
  await observer.query('SELECT pg_terminate_backend($1)', [pid]);
  await eventually(async () => {
    const { rows } = await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    return rows.length === 0;
  });
}

const columnsOf = (database: string, table: string) =>
  cluster
    .sql(
      'SELECT column_name, data_type, is_nullable FROM information_schema.columns ' +
        `WHERE table_schema = 'public' AND table_name = '${table}' ORDER BY ordinal_position`,
      database,
    )
    .split('\n');

test('a new database: typed tables, views, the version and the dataset kept in it', { skip }, async () => {
  const { url, name } = fresh();
  const store = await openPostgres(url, { dataset: adult });
  assert.equal(store.kind, 'postgres');
  assert.equal(store.display, `postgres://postgres@127.0.0.1:${cluster.port}/${name}?sslmode=disable`);
  assert.equal(await store.snapshot(path.join(tempDir(), 'copy')), null);
  await store.close();
  const adultColumns = columnsOf(name, 'adult');
  assert.deepEqual(adultColumns.slice(0, 4), [
    'rowid|bigint|NO',
    'age|bigint|YES',
    'workclass|text|YES',
    'fnlwgt|bigint|YES',
  ]);
  assert.deepEqual(adultColumns.slice(-2), ['source|text|NO', 'line|bigint|NO']);
  assert.equal(cluster.sql('SELECT version FROM census_etl_schema', name), String(SCHEMA_VERSION));
  const model = JSON.parse(cluster.sql('SELECT model FROM dataset', name)) as Dataset;
  assert.deepEqual(model.tables, JSON.parse(JSON.stringify(adult.tables)));
  const views = cluster.sql("SELECT count(*) FROM pg_views WHERE schemaname = 'public'", name);
  assert.equal(Number(views), adult.views.length + 2);

  // Opened again: nothing is made again (the views keep their identity).
  const viewOids = () =>
    cluster.sql("SELECT string_agg(oid::text, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'v'", name);
  const before = viewOids();
  await (await openPostgres(url, { dataset: adult })).close();
  assert.equal(viewOids(), before);

  // A reader takes the dataset from the database, and writes nothing.
  const reader = await openPostgres(url, { dataset: null, readOnly: true });
  assert.deepEqual(reader.dataset.tables, model.tables);
  const refused = await rejection(reader.markFinished());
  assert.match(refused.message, /read-only transaction/);
  await reader.close();
});

test('every field type: its column type, and values back as the cleaner wrote them', { skip }, async () => {
  const { url, name } = fresh();
  const store = await loaded(kinds, url);
  assert.deepEqual(columnsOf(name, 'things'), [
    'rowid|bigint|NO',
    'id|bigint|NO',
    'label|text|YES',
    'price|double precision|YES',
    'ok|boolean|YES',
    'day|date|YES',
    'at|timestamp without time zone|YES',
    'clock|time without time zone|YES',
    'born|bigint|YES',
    'kind|text|YES',
    '_source|text|NO',
    '_line|bigint|NO',
  ]);
  // Through the cleaner's own casts: what it writes is what PostgreSQL prints.
  const [table] = kinds.tables;
  const cast = (texts: string[]) =>
    texts.map((text, i) => {
      const v = text === '' ? null : castText(table.fields[i], text);
      assert.ok(!isInvalid(v), `${text}: ${JSON.stringify(v)}`);
      return v;
    });
  const rows = [
    cast(['1', 'plain', '0.1', 'true', '2024-02-29', '2024-02-29T23:59:59', '00:00:00', '1999', 'a']),
    cast([
      '2',
      'say "hi", x',
      '1e300',
      'false',
      '0099-01-01',
      '2020-01-02T03:04:05.500Z',
      '12:30:00.250',
      '2024',
      'b',
    ]),
    cast(['3', '', '', '', '', '2020-01-02T03:04:05.000', '23:59:59.123456', '', '']),
    cast([
      '4',
      'ünï ✓',
      'inf',
      '1',
      '9999-12-31',
      '2020-06-30T23:30:00-02:00',
      '01:02:03.000100',
      '2147483648',
      'a',
    ]),
  ];
  assert.deepEqual(rows[1].slice(5, 7), ['2020-01-02 03:04:05.5', '12:30:00.25']);
  const feed = new Feed(kinds);
  const done = await store.writeBatch(feed.batch('things', rows));
  assert.deepEqual([done.batch, done.loaded, done.quarantined], [1, 4, 0]);
  const columns = table.fields.map((f) => `"${f.name}"`).join(', ');
  const [back] = await store.read([`SELECT ${columns} FROM things ORDER BY id`]);
  assert.deepEqual(
    back.map((r) => Object.values(r)),
    rows,
  );
  await store.close();
});

test('a batch commits its rows, quarantine and checkpoint in one transaction', { skip }, async () => {
  const { url, name } = fresh();
  const store = await loaded(adult, url);
  const feed = new Feed(adult);
  const [t] = adult.tables;
  const first = await store.writeBatch(
    feed.batch(
      'adult',
      [rowOf(t, 0), rowOf(t, 1)],
      [{ raw: 'bad line', reason: 'age: "x" is not an integer' }],
      2,
    ),
  );
  assert.deepEqual(first, {
    batch: 1,
    loaded: 2,
    quarantined: 1,
    progress: [{ no: 0, nextOffset: 500, nextLine: 6, loaded: 2, quarantined: 1, skipped: 2 }],
  });
  assert.deepEqual(await store.readProgress(), first.progress);
  assert.equal(await count(name, 'SELECT count(*) FROM adult'), 2);
  assert.equal(cluster.sql('SELECT line, reason FROM quarantine', name), '3|age: "x" is not an integer');
  assert.equal(cluster.sql('SELECT batch, loaded, quarantined, skipped FROM batches', name), '1|2|1|2');
  await store.close();
});

/** 200,000 Adult rows: about 25 MB of CSV, still streaming when looked at. */
const bigRows = (t: Table) => Array.from({ length: 200_000 }, (_, i) => rowOf(t, i));

/** Waits until the server has taken in rows of a COPY into `database`; its backend's pid. */
async function copyUnderway(database: string): Promise<number> {
  let pid = 0;
  await eventually(async () => {
    const { rows } = await observer.query(
      'SELECT pid FROM pg_stat_progress_copy WHERE datname = $1 AND tuples_processed > 0',
      [database],
    );
    pid = (rows[0]?.pid as number | undefined) ?? 0;
    return pid > 0;
  });
  return pid;
}

test(
  'its backend killed mid-COPY: nothing committed, a retryable error, and a new open resumes',
  { skip, timeout: 120_000 },
  async () => {
    const { url, name } = fresh();
    const store = await loaded(adult, url);
    const feed = new Feed(adult);
    const [t] = adult.tables;
    const first = feed.committed(await store.writeBatch(feed.batch('adult', [rowOf(t, 0)])));
    const big = feed.batch('adult', bigRows(t), [{ raw: 'x', reason: 'y' }]);
    const writing = rejection(store.writeBatch(big));
    await terminate(await copyUnderway(name));
    const e = await writing;
    assert.ok(e instanceof PostgresError, String(e));
    assert.equal(e.retryable, true);
    assert.equal(e.code, '57P01');
    assert.match(
      e.message,
      new RegExp(`^${store.display.replace(/[?.]/g, '\\$&')}: the connection was lost`),
    );
    assert.match(e.message, /resumes after the last committed batch/);
    // Nothing of the batch: rows, quarantine, checkpoint and batches as after the first.
    assert.equal(await count(name, 'SELECT count(*) FROM adult'), 1);
    assert.equal(await count(name, 'SELECT count(*) FROM quarantine'), 0);
    assert.equal(await count(name, 'SELECT count(*) FROM batches'), 1);
    await store.close();

    const again = await openPostgres(url, { dataset: adult });
    assert.deepEqual(await again.readProgress(), first.progress);
    const done = await again.writeBatch(big);
    assert.deepEqual([done.batch, done.loaded, done.quarantined], [2, 200_000, 1]);
    assert.equal(await count(name, 'SELECT count(*) FROM adult'), 200_001);
    assert.equal(await count(name, 'SELECT count(DISTINCT line) FROM adult'), 200_001);
    await again.close();
  },
);

test(
  'the connection lost between batches: the same store connects again and writes no batch twice',
  { skip, timeout: 60_000 },
  async () => {
    const { url, name } = fresh();
    const store = await loaded(adult, url);
    const feed = new Feed(adult);
    const [t] = adult.tables;
    const one = feed.batch('adult', [rowOf(t, 0), rowOf(t, 1)]);
    const committed = await store.writeBatch(one);
    // Lost after the commit landed (its acknowledgement lost with it): the retry finds it there.
    // The client may learn of the loss only from its next statement, which then fails as
    // retryable; the loader retries such a failure, and so does this test.
    await terminate((await lockHolder(name))!);
    const retried = await store.writeBatch(one).catch((e: { retryable?: boolean }) => {
      assert.equal(e.retryable, true, String(e));
      return store.writeBatch(one);
    });
    assert.deepEqual(retried, committed);
    assert.equal(await count(name, 'SELECT count(*) FROM adult'), 2);
    // The new session holds the run lock again, and goes on.
    assert.ok(await lockHolder(name));
    await assert.rejects(openPostgres(url, { dataset: adult }), LockedError);
    const two = await store.writeBatch(feed.batch('adult', [rowOf(t, 2)]));
    assert.equal(two.batch, 2);
    assert.equal(await count(name, 'SELECT count(*) FROM adult'), 3);
    await store.close();
  },
);

test(
  'rows repeating a primary key are quarantined with the reason, the first one wins',
  { skip },
  async () => {
    const { url, name } = fresh();
    const store = await loaded(kinds, url);
    const feed = new Feed(kinds);
    const [t] = kinds.tables;
    const row = (id: number, label: string): Value[] => [id, label, 1, true, null, null, null, null, 'a'];
    const one = feed.committed(
      await store.writeBatch(feed.batch('things', [row(1, 'first'), row(2, 'two'), row(1, 'second')])),
    );
    assert.deepEqual(
      [one.loaded, one.quarantined, one.progress[0].loaded, one.progress[0].quarantined],
      [2, 1, 2, 1],
    );
    const two = await store.writeBatch(feed.batch('things', [row(3, 'three'), row(2, 'again')]));
    assert.deepEqual([two.loaded, two.quarantined], [1, 1]);
    assert.equal(
      cluster.sql('SELECT id, label, _line FROM things ORDER BY id', name),
      '1|first|1\n2|two|2\n3|three|4',
    );
    assert.equal(
      cluster.sql('SELECT line, raw, reason FROM quarantine ORDER BY line', name),
      [
        `3|${JSON.stringify(row(1, 'second'))}|primary key (id) = (1) repeats an earlier row's`,
        `5|${JSON.stringify(row(2, 'again'))}|primary key (id) = (2) repeats an earlier row's`,
      ].join('\n'),
    );
    assert.equal(t.primaryKey[0], 'id');
    await store.close();
  },
);

test(
  'values the cleaner let through and the database refuses are quarantined, saying why',
  { skip },
  async () => {
    const { url, name } = fresh();
    const store = await loaded(kinds, url);
    const feed = new Feed(kinds);
    // An enum's other values cannot even travel: a packed row has no code for them (packing.test.ts).
    const row = (id: number, label: string, price = 1, born: number | null = null): Value[] => [
      id,
      label,
      price,
      true,
      null,
      null,
      null,
      born,
      'a',
    ];
    const done = await store.writeBatch(
      feed.batch('things', [
        row(1, 'fine'),
        row(2, 'far too long a label'),
        row(3, 'price', -1),
        row(4, 'nul \u0000 byte'),
        row(5, 'big year', 1, 1e20),
        row(6, 'fine too'),
      ]),
    );
    assert.deepEqual([done.loaded, done.quarantined], [2, 4]);
    assert.equal(cluster.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM things", name), '1,6');
    const reasons = cluster.sql('SELECT reason FROM quarantine ORDER BY line', name).split('\n');
    assert.match(
      reasons[0],
      /^the database refused it: new row for relation "things" violates check constraint/,
    );
    assert.match(reasons[1], /violates check constraint "things_price_check"/);
    assert.match(reasons[2], /^the database refused it: invalid byte sequence for encoding "UTF8": 0x00/);
    assert.match(
      reasons[3],
      /^the database refused it: value "100000000000000000000" is out of range for type bigint/,
    );
    await store.close();
  },
);

test(
  'a second run on the same database is refused until the first one’s session ends',
  { skip },
  async () => {
    const { url, name } = fresh();
    const first = await loaded(adult, url);
    const e = await rejection(openPostgres(url, { dataset: adult }));
    assert.ok(e instanceof LockedError, String(e));
    const holder = (await lockHolder(name))!;
    const since = /since (\d{4}-\d\d-\d\d [\d:.]+\+00)\)/.exec(e.message)?.[1];
    assert.equal(
      e.message,
      `database ${first.display} is in use by another census-etl run (the lock on schema public: ` +
        `backend pid ${holder} holds it (census-etl, since ${since})); wait for it or stop it`,
    );
    // Readers take no lock.
    const reader = await openPostgres(url, { dataset: null, readOnly: true });
    assert.equal((await reader.status()).sources.length, 1);
    await reader.close();
    // The first run's session dies (its process killed, its connection cut): the lock goes with it.
    await terminate(holder);
    const second = await openPostgres(url, { dataset: adult });
    // The first run, connecting again, finds its lock taken: it does not go on.
    await assert.rejects(first.status(), LockedError);
    await first.close();
    await second.close();
  },
);

test(
  'a table of one of our names with another shape: a UsageError naming it, what differs, what to do',
  { skip },
  async () => {
    const { url, name } = fresh();
    cluster.sql('CREATE TABLE batches (batch integer PRIMARY KEY, note text)', name);
    const e = await rejection(openPostgres(url, { dataset: adult }));
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(
      e.message,
      `postgres://postgres@127.0.0.1:${cluster.port}/${name}?sslmode=disable: table batches exists with ` +
        'another shape (its column 1 is "batch" integer NOT NULL where dataset adult defines "batch" ' +
        'bigint NOT NULL): rename or drop that table, or load into another database',
    );
    // Nothing made: the schema's transaction rolled back.
    assert.equal(
      cluster.sql("SELECT to_regclass('adult') IS NULL AND to_regclass('sources') IS NULL", name),
      't',
    );

    // On a census-etl database: a column added, a constraint changed, another dataset.
    const other = fresh();
    await (await openPostgres(other.url, { dataset: adult })).close();
    cluster.sql('ALTER TABLE adult ADD COLUMN note text', other.name);
    const added = await rejection(openPostgres(other.url, { dataset: adult }));
    assert.match(
      added.message,
      /table adult exists with another shape \(it has column "note" text, which dataset adult/,
    );
    cluster.sql('ALTER TABLE adult DROP COLUMN note', other.name);
    cluster.sql('ALTER TABLE adult DROP CONSTRAINT adult_age_check', other.name);
    const check = await rejection(openPostgres(other.url, { dataset: adult }));
    assert.match(
      check.message,
      /table adult exists with another shape \(it lacks the constraint CHECK \(\(\(age >= 0\)/,
    );
    const kindsToo = await rejection(openPostgres(other.url, { dataset: kinds }));
    assert.ok(kindsToo instanceof UsageError);
    assert.match(
      kindsToo.message,
      /holds dataset adult, without the table things of dataset kinds: load into another/,
    );
  },
);

test('a table made beforehand as the dataset defines it (by a DBA) is taken as it is', { skip }, async () => {
  const { url, name } = fresh();
  cluster.sql(dataTableSql('postgres', kinds.tables[0]), name);
  const store = await loaded(kinds, url);
  const done = await store.writeBatch(
    new Feed(kinds).batch('things', [[1, 'x', 1, true, null, null, null, null, 'a']]),
  );
  assert.equal(done.loaded, 1);
  await store.close();
});

test('a newer schema version is refused and left as it is', { skip }, async () => {
  const { url, name } = fresh();
  await (await openPostgres(url, { dataset: adult })).close();
  cluster.sql('UPDATE census_etl_schema SET version = 99', name);
  const e = await rejection(openPostgres(url, { dataset: adult }));
  assert.ok(e instanceof UsageError);
  assert.match(
    e.message,
    new RegExp(`made by a newer census-etl \\(schema version 99; this one knows ${SCHEMA_VERSION}\\)`),
  );
  const reader = await rejection(openPostgres(url, { dataset: null, readOnly: true }));
  assert.match(reader.message, /has schema version 99/);
  assert.equal(cluster.sql('SELECT version FROM census_etl_schema', name), '99');
  const empty = await rejection(openPostgres(fresh().url, { dataset: null, readOnly: true }));
  assert.ok(empty instanceof UsageError);
  assert.match(empty.message, /holds no census-etl data yet/);
});

test(
  "views unlike this release's are made again; others' views reading them stop that, saying what to do",
  { skip },
  async () => {
    const { url, name } = fresh();
    await (await openPostgres(url, { dataset: adult })).close();
    cluster.sql('DROP VIEW share_by_sex; CREATE VIEW share_by_sex AS SELECT 1 AS stale', name);
    cluster.sql('DROP VIEW missing_values', name);
    await (await openPostgres(url, { dataset: adult })).close();
    const columns = (view: string) =>
      cluster.sql(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns " +
          `WHERE table_name = '${view}'`,
        name,
      );
    assert.equal(columns('share_by_sex'), 'sex,records,over_50k,share,people,weighted_share');
    assert.equal(columns('missing_values'), 'table,column,missing,records,share');

    // A view of the user's on ours stays while ours are as they should be…
    cluster.sql('CREATE VIEW mine AS SELECT reason FROM quarantine_by_reason', name);
    await (await openPostgres(url, { dataset: adult })).close();
    // …and stops their change, saying which and what to do.
    cluster.sql(
      'CREATE OR REPLACE VIEW quarantine_by_reason AS SELECT source_no, source, reason, ' +
        'count(*) AS records, min(line) AS first_line, 1 AS extra FROM quarantine ' +
        'GROUP BY source_no, source, reason',
      name,
    );
    const e = await rejection(openPostgres(url, { dataset: adult }));
    assert.ok(e instanceof UsageError, String(e));
    assert.match(
      e.message,
      new RegExp(
        "must make census-etl's views again, and other objects read them " +
          '\\(view mine depends on view quarantine_by_reason\\): drop those',
      ),
    );
    cluster.sql('DROP VIEW mine', name);
    await (await openPostgres(url, { dataset: adult })).close();
    assert.equal(columns('quarantine_by_reason'), 'source_no,source,reason,records,first_line');
  },
);

/** A store's status without the times a run takes from the clock. */
async function timeless(store: Store) {
  const status = await store.status();
  return { ...status, batches: { ...status.batches, lastAt: null }, run: { ...status.run, startedAt: null } };
}

/** Rows of read-only queries, each query's rows in a canonical order (ties in ORDER BY may differ). */
const sortedReads = async (store: Store, queries: string[]) =>
  (await store.read(queries)).map((rows) => rows.map((r) => JSON.stringify(r)).sort());

test(
  'the same batches give SQLite and PostgreSQL the same status, reads and checksums',
  { skip, timeout: 60_000 },
  async () => {
    for (const dataset of [adult, kinds]) {
      const stores = [
        await openSqlite(path.join(tempDir(), 'census.db'), { dataset }),
        await openPostgres(fresh().url, { dataset }),
      ];
      const [t] = dataset.tables;
      for (const store of stores) {
        await store.registerSources(sourcesOf(dataset));
        await store.claimRun({ id: '20261205T120000Z-test', release: 'test' });
        const feed = new Feed(dataset);
        for (let b = 0; b < 3; b++) {
          const rows = Array.from({ length: 700 }, (_, i) => rowOf(t, b * 700 + i));
          const quarantine = [{ raw: `raw ${b}`, reason: `reason ${b % 2}` }];
          feed.committed(await store.writeBatch(feed.batch(t.name, rows, quarantine, b)));
        }
      }
      const [sqlite, postgres] = stores;
      const sums = await postgres.checksums();
      assert.deepEqual(sums, await sqlite.checksums(), dataset.name);
      assert.equal(sums[t.name].rows, dataset === kinds ? 1000 : 2100);
      const status = await timeless(postgres);
      assert.deepEqual(status, await timeless(sqlite), dataset.name);
      assert.equal(status.totals.quarantined, dataset === kinds ? 1103 : 3);
      const views = [...dataset.views.filter((v) => v.report).map((v) => v.name), 'missing_values'];
      const queries = [...views, 'quarantine_by_reason'].map((v) => `SELECT * FROM "${v}"`);
      assert.deepEqual(
        await sortedReads(postgres, queries),
        await sortedReads(sqlite, queries),
        dataset.name,
      );
      await Promise.all(stores.map((s) => s.close()));
    }
  },
);

test(
  'failures to open: explained, never the password; those no retry mends are UsageErrors',
  { skip },
  async () => {
    const { name } = fresh();
    const PASSWORD = 'Right-pass@1';
    cluster.createRole('loader', PASSWORD, name);
    const wrong = 'Wr0ng:p@ss/w%rd';
    const asLoader = (password: string, database = name) =>
      openPostgres(cluster.url({ user: 'loader', password, database }), { dataset: adult });
    const secrets = [wrong, encodeURIComponent(wrong), PASSWORD, encodeURIComponent(PASSWORD)];
    const explained = (e: Error, pattern: RegExp) => {
      assert.match(e.message, pattern);
      for (const secret of secrets) assert.ok(!e.message.includes(secret), `${secret} in ${e.message}`);
      assert.equal(redact(e.message), e.message);
      return e;
    };

    const denied = explained(
      await rejection(asLoader(wrong)),
      /loader@127\.0\.0\.1.*wrong password or no such user/,
    );
    assert.ok(denied instanceof UsageError, 'wrong password: exit 2');
    const missing = explained(await rejection(asLoader(PASSWORD, 'nowhere')), /\/nowhere\?.*does not exist/);
    assert.ok(missing instanceof UsageError, 'no such database: exit 2');
    // PostgreSQL 15 gives no one but the owner CREATE on schema public.
    const permission = explained(await rejection(asLoader(PASSWORD)), /permission denied .*needs CREATE/);
    assert.ok(permission instanceof UsageError, 'permission denied: exit 2');
    const settings = explained(
      await rejection(
        openPostgres(`postgres://loader:${encodeURIComponent(PASSWORD)}@127.0.0.1/x?sslmode=bogus`, {
          dataset: adult,
        }),
      ),
      /sslmode "bogus"/,
    );
    assert.ok(settings instanceof UsageError, 'a setting: exit 2');

    // This cluster offers no TLS: verify-full refuses to go on without it.
    const ca = makeCertificateAuthority(tempDir());
    const tls = explained(
      await rejection(
        openPostgres(cluster.url({ params: `sslmode=verify-full&sslrootcert=${ca}` }), { dataset: adult }),
      ),
      /does not offer TLS, which sslmode verify-full requires/,
    );
    assert.ok(tls instanceof UsageError, 'TLS refused: exit 2');

    const port = await freePort();
    const unreachable = explained(
      await rejection(
        openPostgres(
          `postgres://loader:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/x?sslmode=disable`,
          { dataset: adult },
        ),
      ),
      /^cannot reach postgres:\/\/loader@127\.0\.0\.1:\d+\/x\?sslmode=disable/,
    );
    assert.ok(unreachable instanceof PostgresError && unreachable.retryable, 'unreachable: retried');
  },
);

test(
  'a whole run into PostgreSQL, its log elsewhere: the summary in the database’s own folder',
  { skip },
  async () => {
    const { url, name } = fresh();
    const dir = mixedSources(30, 10, tempDir());
    const log = path.join(dir, 'elsewhere', 'run.log');
    const params = await resolveParams(
      undefined,
      { dataDir: dir, database: url, log, unthrottled: true },
      {},
    );
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const folder = localFolderOf(url);
    rmSync(folder, { recursive: true, force: true });
    try {
      const outcome = await runJob(params, { log: createLog(params.log, quiet) });
      assert.equal(outcome.status.complete, true);
      const summary = JSON.parse(readFileSync(path.join(folder, 'summary.json'), 'utf8'));
      assert.deepEqual(summary.totals, outcome.status.totals);
      assert.equal(await count(name, 'SELECT count(*) FROM sources'), 2);
      assert.match(readFileSync(log, 'utf8'), / done: /);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
);
