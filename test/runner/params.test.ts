import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULTS, ORIGIN_SOURCES, resolveParams } from '../../runner/params.ts';
import { UsageError } from '../../runner/shared/errors.ts';
import { tempDir } from '../support/fixtures.ts';

test(
  'with nothing given, the defaults are the local run: ' + 'published files, 1,630 every 10 s, no results',
  async () => {
    const p = await resolveParams(undefined, {}, {});
    assert.deepEqual(p, DEFAULTS);
    assert.equal(p.batchSize, 1630);
    assert.equal(p.everySeconds, 10);
    assert.ok(ORIGIN_SOURCES.every((s) => s.uri.startsWith('https://') && /^[0-9a-f]{64}$/.test(s.sha256!)));
  },
);

test('CENSUS_DATA_DIR replaces the downloads with local files, read as they are', async () => {
  const p = await resolveParams(undefined, {}, { CENSUS_DATA_DIR: 'some/dir' });
  assert.deepEqual(p.sources, [
    { uri: path.join('some/dir', 'Adult.data') },
    { uri: path.join('some/dir', 'Adult.test') },
  ]);
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
    const flagged = await resolveParams(file, { dataDir: 'mine' }, {});
    assert.equal(flagged.sources[0].uri, path.join('mine', 'Adult.data'), '--data-dir beats the file');
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
