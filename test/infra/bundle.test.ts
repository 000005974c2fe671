/**
 * The release the instance runs: the bundle plus better-sqlite3's prebuilt addon for the
 * instance's architecture, which loads with nothing installed, and which Amazon Linux 2023's
 * C and C++ libraries can satisfy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ARCHITECTURES, hostArchitecture, type Architecture } from '../../infra/architecture.ts';
import { buildBundle } from '../../infra/bundle.ts';
import { RELEASE_FILES } from '../../infra/layout.ts';
import { lines, record, records, tempDir, writeSources } from '../support/fixtures.ts';
import { requireTool } from '../support/tools.ts';

const ARCHS = Object.keys(ARCHITECTURES) as Architecture[];

test('the release loads a dataset from a folder holding only its own files (no node_modules)', () => {
  const dir = tempDir('census-bundle-');
  const bundle = buildBundle(dir);
  const names = [RELEASE_FILES.addon, RELEASE_FILES.bundle, RELEASE_FILES.parser];
  assert.deepEqual(readdirSync(dir).sort(), names.sort());
  for (let up = dir; up !== path.dirname(up); up = path.dirname(up)) {
    assert.ok(!existsSync(path.join(up, 'node_modules')), `no node_modules above the release (${up})`);
  }
  // The parser threads' file holds the parser alone: no AWS SDK, no charts.
  const size = (file: string) => readFileSync(file, 'utf8').length;
  assert.ok(size(bundle.files.parser) < size(bundle.files.bundle) / 20);

  const data = writeSources([lines([...records(7), record(7, { age: 'x' })]), lines(records(3, 8))]);
  const db = path.join(data, 'out', 'census.db');
  const env = { PATH: process.env.PATH, CENSUS_DATA_DIR: '' };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bundle.files.bundle, ...args], { cwd: dir, encoding: 'utf8', env });

  const loaded = run(
    'run',
    '--unthrottled',
    '--batch-size',
    '4',
    '--data-dir',
    data,
    '--db',
    db,
    '--log',
    path.join(data, 'out', 'run.log'),
  );
  assert.equal(loaded.status, 0, loaded.stderr);
  const status = run('status', '--db', db, '--json');
  assert.equal(status.status, 0, status.stderr);
  const totals = {
    lines: 11,
    linesRead: 11,
    records: 11,
    recordsRead: 11,
    loaded: 10,
    quarantined: 1,
    skipped: 0,
    percent: 100,
  };
  assert.deepEqual(JSON.parse(status.stdout).totals, totals);
});

test('the bundle loads the addon shipped next to it, and nothing else native', () => {
  const bundle = buildBundle(tempDir());
  const text = readFileSync(bundle.files.bundle, 'utf8');
  const natives = [...text.matchAll(/__require\("([^"]+\.node)"\)/g)].map((m) => m[1]);
  assert.deepEqual(natives, [`./${RELEASE_FILES.addon}`]);
});

test('the same sources give the same bytes and hash (no new instance without a change)', () => {
  const [a, b] = [buildBundle(tempDir()), buildBundle(tempDir())];
  assert.equal(a.sha256, b.sha256);
  for (const name of Object.keys(a.files) as (keyof typeof a.files)[]) {
    assert.ok(readFileSync(a.files[name]).equals(readFileSync(b.files[name])), name);
  }
});

/** e_machine of an ELF file (little-endian, offset 18). */
const elfMachine = (file: string) => readFileSync(file).readUInt16LE(18);

test('each architecture ships the addon built for it; the hashes differ', () => {
  const built = ARCHS.map((arch) => buildBundle(tempDir(), arch));
  for (const [i, arch] of ARCHS.entries()) {
    assert.equal(built[i].architecture, arch);
    assert.equal(elfMachine(built[i].files.addon), ARCHITECTURES[arch].elfMachine, arch);
  }
  assert.notEqual(built[0].sha256, built[1].sha256);
  assert.equal(buildBundle(tempDir()).architecture, hostArchitecture());
});

/** Amazon Linux 2023 has glibc 2.34 and GCC 11's libstdc++ for its whole life. */
const AL2023 = { GLIBC: '2.34', GLIBCXX: '3.4.29' } as const;

const newer = (a: string, b: string) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
};

/** The symbol versions in `objdump -T` output that Amazon Linux 2023 lacks. */
function beyondAl2023(objdump: string): string[] {
  const versions = [...objdump.matchAll(/\((GLIBC|GLIBCXX)_([\d.]+)\)/g)];
  const needed = new Set(versions.map((m) => `${m[1]}_${m[2]}`));
  return [...needed].filter((v) => {
    const [lib, version] = v.split('_') as [keyof typeof AL2023, string];
    return newer(version, AL2023[lib]);
  });
}

test('the shipped addons need no glibc above 2.34 and no libstdc++ above 3.4.29 (objdump -T)', (t) => {
  if (!requireTool(t, 'objdump')) return;
  for (const arch of ARCHS) {
    const { files } = buildBundle(tempDir(), arch);
    const r = spawnSync('objdump', ['-T', files.addon], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(GLIBC_2\.\d+\)/, `${arch}: objdump listed symbol versions`);
    assert.deepEqual(beyondAl2023(r.stdout), [], arch);
  }
  const symbols = ['(GLIBC_2.38) strlcpy', '(GLIBCXX_3.4.30) _ZSt3x', '(GLIBC_2.34) f'];
  const later = symbols.map((s) => `0 DF *UND* 0 ${s}`).join('\n');
  assert.deepEqual(beyondAl2023(later), ['GLIBC_2.38', 'GLIBCXX_3.4.30'], 'the check sees a newer version');
});
