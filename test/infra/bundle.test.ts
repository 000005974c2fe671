/** The runner bundle: one file that runs with nothing but what its package.json installs. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildBundle } from '../../infra/bundle.ts';
import { ROOT } from '../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../support/fixtures.ts';

/** What `npm install` puts next to the bundle: better-sqlite3 and its runtime dependencies. */
const INSTALLED = ['better-sqlite3', 'bindings', 'file-uri-to-path'];

test('the bundle loads a dataset on its own, with only package.json dependencies installed', () => {
  const dir = tempDir('census-bundle-');
  const bundle = buildBundle(dir);
  const manifest = JSON.parse(readFileSync(bundle.files.manifest, 'utf8'));
  assert.deepEqual(Object.keys(manifest.dependencies), ['better-sqlite3']);
  assert.equal(manifest.type, 'module');
  // The parser threads' file holds the parser alone: no AWS SDK, no charts.
  const size = (file: string) => readFileSync(file, 'utf8').length;
  assert.ok(size(bundle.files.parser) < size(bundle.files.bundle) / 20);

  mkdirSync(path.join(dir, 'node_modules'));
  for (const name of INSTALLED) symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name));
  const data = writeSources([lines([...records(7), record(7, { age: 'x' })]), lines(records(3, 8))]);
  const db = path.join(data, 'out', 'census.db');
  const run = (...args: string[]) => spawnSync(process.execPath, [bundle.files.bundle, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CENSUS_DATA_DIR: '' } });

  const loaded = run('run', '--unthrottled', '--batch-size', '4', '--data-dir', data, '--db', db, '--log', path.join(data, 'out', 'run.log'));
  assert.equal(loaded.status, 0, loaded.stderr);
  const status = run('status', '--db', db, '--json');
  assert.equal(status.status, 0, status.stderr);
  assert.deepEqual(JSON.parse(status.stdout).totals, { lines: 11, linesRead: 11, loaded: 10, quarantined: 1, skipped: 0, percent: 100 });
});

test('the same sources give the same bytes and hash (no new instance without a change)', () => {
  const [a, b] = [buildBundle(tempDir()), buildBundle(tempDir())];
  assert.equal(a.sha256, b.sha256);
  assert.ok(readFileSync(a.files.bundle).equals(readFileSync(b.files.bundle)));
});
