/**
 * Source problems through the real CLI: a clear error naming the source, exit 1, and nothing
 * loaded (sources are all staged and verified before the first batch, so not even the good
 * ones). Remote sources come from an https server on loopback that misbehaves on demand.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { sha256 } from '../../../runner/publish/publish.ts';
import { stagingDir } from '../../../runner/pipeline.ts';
import { bookkeeping } from '../../support/db.ts';
import { finished, runCli, startCli } from '../../support/cli.ts';
import { lines, records, tempDir } from '../../support/fixtures.ts';
import { startSourceServer, type SourceServer } from '../../support/https.ts';
import { skipUnless } from '../../support/tools.ts';
import { literal } from '../../support/watch.ts';

const skip = skipUnless('openssl');
const DATA = Buffer.from(lines(records(20)));
const TEST = Buffer.from(lines(['|1x3 Cross validator', ...records(10, 20)]));
const half = Math.floor(DATA.length / 2);

let server: SourceServer;
before(async () => {
  if (skip) return;
  server = await startSourceServer({
    'whole/Adult.data': { body: DATA },
    'whole/Adult.test': { body: TEST },
    'cut/Adult.data': { body: DATA, cutAfter: half },
    'cut-once/Adult.data': { body: DATA, cutAfter: half, times: 1 },
    'short/Adult.data': { body: DATA, truncateTo: half },
    'silent/Adult.data': { silent: true },
    'stalled/Adult.data': { body: DATA, stallAfter: half },
    // Six pieces 400 ms apart: 2 s in all, never 1 s without a byte.
    'slow/Adult.data': { body: DATA, piece: Math.ceil(DATA.length / 6), everyMs: 400 },
  });
});
after(() => server?.close());

type Source = { uri: string; sha256?: string };
/** A folder with a params file for these sources; returns how to run it and where the db goes. */
function job(sources: Source[], timeoutSeconds = 30) {
  const dir = tempDir();
  const db = path.join(dir, 'out', 'census.db');
  const log = path.join(dir, 'out', 'census-etl.log');
  const retry = { attempts: 2, minDelaySeconds: 0.1, timeoutSeconds };
  const params = { sources, database: db, log, unthrottled: true, retry };
  writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
  return { dir, db, log, args: ['run', '--params', path.join(dir, 'params.json')] };
}

/** A local file with these bytes, in its own folder. */
function local(name: string, bytes: Buffer | string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
}

const goodTest = () => ({ uri: local('Adult.test', TEST) });
const partialDownloads = (db: string) => {
  const staged = stagingDir(db);
  return existsSync(staged) ? readdirSync(staged).filter((f) => f.endsWith('.part')) : [];
};
/** Nothing loaded: no batch committed (the database and its run exist from the start). */
const batchesIn = (db: string) => (existsSync(db) ? bookkeeping(db).batches.length : 0);

const EACH =
  'each source fault: exit 1, a message naming the source and what is wrong, nothing loaded, no .part left';
test(EACH, { skip }, async () => {
  const url = (p: string) => server.url(p);
  const directory = path.join(tempDir(), 'Adult.test');
  mkdirSync(directory); // unreadable as a file, even for root (chmod 000 is not)
  const cases: { name: string; sources: Source[]; says: (s: Source[]) => RegExp }[] = [
    {
      name: 'download interrupted every time',
      sources: [{ uri: url('cut/Adult.data') }, goodTest()],
      says: ([s]) =>
        new RegExp(
          `source ${literal(s.uri)}: download of ${literal(s.uri)} failed after 2 attempts: ` +
            'terminated \\(other side closed\\)',
        ),
    },
    {
      name: 'upstream file truncated, checksum pinned',
      sources: [{ uri: url('short/Adult.data'), sha256: sha256(DATA) }, goodTest()],
      says: ([s]) =>
        new RegExp(
          `source ${literal(s.uri)}: SHA-256 is ${sha256(DATA.subarray(0, half))}, ` +
            `expected ${sha256(DATA)} \\(corrupt or truncated file\\?\\)`,
        ),
    },
    {
      name: 'download not found',
      sources: [{ uri: url('nowhere/Adult.data') }, goodTest()],
      says: ([s]) => new RegExp(`source ${literal(s.uri)}: .*HTTP 404`),
    },
    {
      name: 'local checksum mismatch',
      sources: [{ uri: local('Adult.data', DATA), sha256: sha256(TEST) }, goodTest()],
      says: ([s]) =>
        new RegExp(`source ${literal(s.uri)}: SHA-256 is ${sha256(DATA)}, expected ${sha256(TEST)}`),
    },
    {
      name: 'a directory where a file belongs',
      sources: [{ uri: local('Adult.data', DATA) }, { uri: directory }],
      says: ([, s]) => new RegExp(`source ${literal(s.uri)}: not a regular file`),
    },
    {
      name: 'empty file',
      sources: [{ uri: local('Adult.data', DATA) }, { uri: local('Adult.test', '') }],
      says: ([, s]) => new RegExp(`source ${literal(s.uri)}: the file is empty`),
    },
    {
      name: 'missing file',
      sources: [{ uri: local('Adult.data', DATA) }, { uri: path.join(tempDir(), 'Adult.test') }],
      says: ([, s]) => new RegExp(`source ${literal(s.uri)}: file not found`),
    },
  ];
  const runs = cases.map((c) => {
    const j = job(c.sources);
    return { c, j, result: finished(startCli(j.args, server.env)) };
  });
  for (const { c, j, result } of runs) {
    const r = await result;
    assert.equal(r.code, 1, `${c.name}\n${r.stderr}`);
    assert.match(r.stderr, c.says(c.sources), c.name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${c.name}: a message, not a stack trace`);
    const logged = readFileSync(j.log, 'utf8')
      .split('\n')
      .find((l) => l.includes('census-etl: error: '));
    assert.match(logged ?? 'none', c.says(c.sources), `${c.name}: the log file has the error too`);
    assert.equal(batchesIn(j.db), 0, `${c.name}: nothing loaded`);
    assert.deepEqual(partialDownloads(j.db), [], `${c.name}: nothing left half-downloaded`);
  }
});

test(
  'a download interrupted once is retried (the retry logged) and the load completes',
  { skip },
  async () => {
    const j = job([
      { uri: server.url('cut-once/Adult.data'), sha256: sha256(DATA) },
      { uri: server.url('whole/Adult.test') },
    ]);
    // Not runCli: a synchronous spawn would block this process, and with it the server.
    const r = await finished(startCli(j.args, server.env));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /download of https:\/\/127\.0\.0\.1:\d+\/cut-once\/Adult\.data: attempt 1\/2 failed \(.+\); retrying/,
    );
    const d = new Database(j.db, { readonly: true });
    assert.equal(d.prepare('SELECT count(*) FROM adult').pluck().get(), 30);
    d.close();
  },
);

test(
  'a truncated local file without a checksum: ' + 'the cut last record is quarantined, never loaded half',
  () => {
    const whole = lines(records(5));
    const cut = whole.slice(0, whole.length - 20); // inside the last record
    const j = job([{ uri: local('Adult.data', cut) }, goodTest()]);
    const r = runCli(j.args);
    assert.equal(r.code, 0, r.stderr);
    const d = new Database(j.db, { readonly: true });
    assert.deepEqual(d.prepare("SELECT line, reason FROM quarantine WHERE source = 'Adult.data'").all(), [
      {
        line: 5,
        reason: `expected 15 fields separated by ",", found ${cut.split('\n').at(-1)!.split(',').length}`,
      },
    ]);
    assert.equal(d.prepare("SELECT count(*) FROM adult WHERE source = 'Adult.data'").pluck().get(), 4);
    d.close();
  },
);

const SILENCE =
  'a source that never answers, or stops sending, fails each attempt at the timeout; a slow one does not';
test(SILENCE, { skip }, async () => {
  const silence = `failed after 2 attempts: no data for 1s`;
  const runs = ['silent', 'stalled', 'slow'].map((name) => {
    const j = job([{ uri: server.url(`${name}/Adult.data`) }, goodTest()], 1);
    return { name, j, result: finished(startCli(j.args, server.env)) };
  });
  for (const { name, j, result } of runs) {
    const r = await result;
    if (name === 'slow') {
      assert.equal(r.code, 0, `a download slower than the timeout, but steady: ${r.stderr}`);
      assert.equal(bookkeeping(j.db).sources[0].loaded, 20);
      continue;
    }
    assert.equal(r.code, 1, r.stderr);
    const source = literal(server.url(`${name}/Adult.data`));
    assert.match(r.stderr, new RegExp(`source ${source}: download of .* ${silence}`), name);
    assert.match(r.stdout, /attempt 1\/2 failed \(no data for 1s\); retrying/, name);
    assert.deepEqual(partialDownloads(j.db), [], `${name}: nothing left half-downloaded`);
  }
});

test('a .part left by a run killed mid-download is removed by the next run', { skip }, async () => {
  const j = job([{ uri: server.url('whole/Adult.data') }, { uri: server.url('whole/Adult.test') }]);
  mkdirSync(stagingDir(j.db), { recursive: true });
  writeFileSync(path.join(stagingDir(j.db), '0-Adult.data.4242-0badcafe.part'), DATA.subarray(0, half));
  const r = await finished(startCli(j.args, server.env));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(partialDownloads(j.db), []);
  assert.deepEqual(readdirSync(stagingDir(j.db)).sort(), ['0-Adult.data', '1-Adult.test']);
});
