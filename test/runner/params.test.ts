import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULTS, resolveParams } from '../../runner/params.ts';
import { UsageError } from '../../runner/shared/errors.ts';
import { finished, startCli } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';

test(
  'with nothing given, the defaults are the local run: ' + 'Adult built in, 1,630 every 10 s, no results',
  async () => {
    const p = await resolveParams(undefined, {}, {});
    assert.deepEqual(p, DEFAULTS);
    assert.equal(p.batchSize, 1630);
    assert.equal(p.everySeconds, 10);
    assert.deepEqual([p.dataset, p.sources, p.dataDir], [null, null, null]);
    assert.deepEqual([p.maxQuarantinedShare, p.maxRecordBytes], [0.1, 1 << 20]);
  },
);

test('CENSUS_DATA_DIR stands in for the downloads, unless the run names its dataset', async () => {
  const p = await resolveParams(undefined, {}, { CENSUS_DATA_DIR: 'some/dir' });
  assert.equal(p.dataDir, 'some/dir');
  const own = await resolveParams(undefined, { dataset: 'dp.json' }, { CENSUS_DATA_DIR: 'some/dir' });
  assert.deepEqual([own.dataset, own.dataDir], ['dp.json', null]);
});

test('a source with user:password@ is refused, naming the field; a params file over 1 MiB too', async () => {
  const file = path.join(tempDir(), 'params.json');
  writeFileSync(file, JSON.stringify({ sources: [{ uri: 'https://u:pw@example.com/a.csv' }] }));
  await assert.rejects(resolveParams(file, {}, {}), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /sources\.0\.uri: holds credentials \(user:password@\)/);
    return true;
  });
  writeFileSync(file, JSON.stringify({ batchSize: 5, pad: ' '.repeat(1 << 20) }));
  await assert.rejects(resolveParams(file, {}, {}), /is larger than 1048576 bytes: not a parameters file/);
  writeFileSync(file, JSON.stringify({ maxQuarantinedShare: 2, maxRecordBytes: 10 }));
  await assert.rejects(resolveParams(file, {}, {}), /maxQuarantinedShare: .*\n\s+maxRecordBytes: /);
});

test(
  'a file overrides the defaults, CLI flags override the file; ' + 'sources in the file beat CENSUS_DATA_DIR',
  async () => {
    const file = path.join(tempDir(), 'params.json');
    writeFileSync(
      file,
      JSON.stringify({
        batchSize: 100,
        everySeconds: 5,
        sources: [{ uri: 's3://b/raw/a.data', sha256: 'a'.repeat(64) }],
      }),
    );
    const p = await resolveParams(
      file,
      { batchSize: 7, results: 's3://bucket/prefix/' },
      { CENSUS_DATA_DIR: 'ignored' },
    );
    assert.equal(p.batchSize, 7);
    assert.equal(p.everySeconds, 5);
    assert.equal(p.results, 's3://bucket/prefix/');
    assert.deepEqual(p.sources, [{ uri: 's3://b/raw/a.data', sha256: 'a'.repeat(64) }]);
    assert.equal(p.dataDir, null, 'sources in the file beat CENSUS_DATA_DIR');
    const flagged = await resolveParams(file, { dataDir: 'mine' }, {});
    assert.equal(flagged.dataDir, 'mine', '--data-dir is taken as given');
  },
);

test('every invalid field is named in one message', async () => {
  const file = path.join(tempDir(), 'params.json');
  writeFileSync(
    file,
    JSON.stringify({
      batchSize: 0,
      everySeconds: 7,
      results: 'ftp://x',
      colour: 'blue',
      sources: [{ uri: 'https://x', sha256: 'nope' }],
    }),
  );
  const err = await resolveParams(file, {}, {}).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof UsageError);
  assert.match(err.message, /^invalid parameters in .*params\.json/);
  assert.match(err.message, /batchSize: .*>0/);
  assert.match(err.message, /everySeconds: must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60/);
  assert.match(err.message, /results: must be s3:\/\/bucket\/prefix\//);
  assert.match(err.message, /sources\.0\.sha256: must be 64 lowercase hex digits/);
  assert.match(err.message, /colour/);
});

/** The UsageError resolveParams refuses a parameters file of `params` with. */
async function refusal(params: object, overrides = {}): Promise<string> {
  const file = path.join(tempDir(), 'params.json');
  writeFileSync(file, JSON.stringify(params));
  const err = await resolveParams(file, overrides, {}).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err instanceof UsageError, `refused: ${JSON.stringify(params)}`);
  return err.message;
}

test('dataset: a descriptor in the file beats CENSUS_DATA_DIR, --dataset beats the file', async () => {
  const file = path.join(tempDir(), 'params.json');
  writeFileSync(file, JSON.stringify({ dataset: 's3://bucket/raw/x/datapackage.json' }));
  const p = await resolveParams(file, {}, { CENSUS_DATA_DIR: 'some/dir' });
  assert.deepEqual([p.dataset, p.sources, p.dataDir], ['s3://bucket/raw/x/datapackage.json', null, null]);
  const flagged = await resolveParams(file, { dataset: 'data/datapackage.json' }, {});
  assert.equal(flagged.dataset, 'data/datapackage.json');
  for (const dataset of ['https://example.com/dp.json', 'data/dp.json', null]) {
    writeFileSync(file, JSON.stringify({ dataset }));
    assert.equal((await resolveParams(file, {}, {})).dataset, dataset);
  }
  // null names no dataset: Adult, whose files CENSUS_DATA_DIR stands in for.
  writeFileSync(file, JSON.stringify({ dataset: null, sources: null }));
  assert.equal((await resolveParams(file, {}, { CENSUS_DATA_DIR: 'some/dir' })).dataDir, 'some/dir');
});

test('dataset: another scheme, or credentials in the URL, refused naming the field', async () => {
  assert.match(
    await refusal({ dataset: 'ftp://example.com/dp.json' }),
    /dataset: must be a local path, an s3:\/\/bucket\/key or an https:\/\/ URL/,
  );
  const message = await refusal({ dataset: 'https://user:secret@example.com/dp.json' });
  assert.match(message, /dataset: holds credentials \(user:password@\)/);
  assert.doesNotMatch(message, /secret/);
  const flagged = await refusal({}, { dataset: 'https://user:secret@example.com/dp.json' });
  assert.match(flagged, /dataset: holds credentials/);
});

test('a password with "@" in it is refused, and no part of it is in the message', async () => {
  const message = await refusal({ sources: [{ uri: 'https://user:p@ss@example.com/Adult.data' }] });
  assert.match(message, /sources\.0\.uri: holds credentials \(user:password@\)/);
  assert.doesNotMatch(message, /p@ss|ss@example/);
});

test('maxQuarantinedShare: a share from 0 to 1; maxRecordBytes from 1 KiB to 64 MiB', async () => {
  const file = path.join(tempDir(), 'params.json');
  for (const ok of [
    { maxQuarantinedShare: 0, maxRecordBytes: 1024 },
    { maxQuarantinedShare: 1, maxRecordBytes: 64 << 20 },
    { maxQuarantinedShare: 0.25, maxRecordBytes: 4096 },
  ]) {
    writeFileSync(file, JSON.stringify(ok));
    const p = await resolveParams(file, {}, {});
    assert.deepEqual([p.maxQuarantinedShare, p.maxRecordBytes], [ok.maxQuarantinedShare, ok.maxRecordBytes]);
  }
  for (const share of [-0.01, 1.01, '0.5']) {
    assert.match(await refusal({ maxQuarantinedShare: share }), /^\s+maxQuarantinedShare: /m);
  }
  for (const bytes of [1023, (64 << 20) + 1, 4096.5]) {
    assert.match(await refusal({ maxRecordBytes: bytes }), /^\s+maxRecordBytes: /m);
  }
});

test('through the CLI: credentials in a source and a parameters file over 1 MiB exit 2', async () => {
  const dir = tempDir();
  const secret = path.join(dir, 'secret.json');
  writeFileSync(
    secret,
    JSON.stringify({ sources: [{ uri: 'https://user:hunter2@example.com/Adult.data' }] }),
  );
  const big = path.join(dir, 'big.json');
  writeFileSync(big, JSON.stringify({ batchSize: 5, pad: ' '.repeat(1 << 20) }));
  const run = (params: string) =>
    finished(startCli(['run', '--params', params, '--db', path.join(dir, 'census.db')]));
  const [credentials, large] = await Promise.all([run(secret), run(big)]);
  assert.equal(credentials.code, 2, credentials.stderr);
  assert.match(credentials.stderr, /sources\.0\.uri: holds credentials \(user:password@\)/);
  assert.doesNotMatch(credentials.stderr + credentials.stdout, /hunter2/);
  assert.equal(large.code, 2, large.stderr);
  assert.match(large.stderr, /big\.json is larger than 1048576 bytes: not a parameters file/);
});

test('the default log is the database’s own: runs on different databases never share one', async () => {
  const log = async (database: string, more: object = {}) =>
    (await resolveParams(undefined, { database, ...more }, {})).log;
  assert.equal(await log('out/census.db'), path.join('out', 'census-etl.log'));
  assert.equal(await log('elsewhere/x.db'), path.join('elsewhere', 'census-etl.log'));
  const [a, b] = [await log('postgres://u@h/a'), await log('postgres://u@h/b')];
  assert.match(a, /^out[/\\]postgres-[0-9a-f]{12}[/\\]census-etl\.log$/);
  assert.notEqual(a, b);
  assert.equal(await log('postgres://u:secret@h/a'), a, 'the password is no part of it');
  assert.equal(await log('elsewhere/x.db', { log: 'mine.log' }), 'mine.log');
});
