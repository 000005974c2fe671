/** The code's layout: Prettier's (npm run format), and no line over 110 characters. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as prettier from 'prettier';
import { ROOT } from '../../infra/layout.ts';

const MAX_LINE = 110;
/** Every committed file of code: TypeScript, ESM, Python, and the shell scripts of CI and the twin. */
const CODE = ['*.ts', '*.mjs', '*.py', '.ci/run', 'twin/shims/*'];
const tracked = (patterns: string[]) =>
  execFileSync('git', ['ls-files', '-z', '--', ...patterns], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);

test('every TypeScript and ESM file is as Prettier writes it (npm run format)', async () => {
  const unformatted: string[] = [];
  for (const file of tracked(['*.ts', '*.mjs'])) {
    const filepath = path.join(ROOT, file);
    const options = await prettier.resolveConfig(filepath);
    assert.equal(options?.printWidth, MAX_LINE, `${file}: .prettierrc.json applies`);
    if (!(await prettier.check(readFileSync(filepath, 'utf8'), { ...options, filepath })))
      unformatted.push(file);
  }
  assert.deepEqual(unformatted, [], 'run npm run format');
});

test(`no line of code runs past ${MAX_LINE} characters`, () => {
  const files = tracked(CODE);
  assert.ok(files.some((f) => f.endsWith('.ci/run')) && files.length > 50, 'the files are found');
  const long = files.flatMap((file) =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > MAX_LINE ? [`${file}:${i + 1} (${line.length})`] : [])),
  );
  assert.deepEqual(long, []);
});
