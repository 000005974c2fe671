/**
 * The docs are checked against the code, whole files at a time, so they stay true: the CLI's
 * commands and options and the parameters file's fields (docs/cli.md), the stack's settings
 * (docs/aws.md, docs/aws-postgres.md), the failure table's tests (docs/failures.md), the
 * commands the AWS twin types (docs/aws.md), every relative link, and the README's length.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { ENV } from '../../infra/config.ts';
import { ROOT } from '../../infra/layout.ts';
import { buildCli } from '../../runner/cli.ts';
import { ParamsSchema } from '../../runner/params.ts';
import { COMMANDS_PAGE, JOURNEY_COMMANDS, commandsIn, userCommands } from '../../twin/commands.ts';
import { beginsWith, testNamesIn } from '../support/test-names.ts';

const MAX_README_LINES = 150;

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
/** README.md and every page of docs/, by path from the project folder. */
const pages = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const cliPage = read('docs/cli.md');

/** Every long option of a command, its help option included (`--help`). */
const optionsOf = (command: Command) =>
  command
    .createHelp()
    .visibleOptions(command)
    .map((o) => o.long)
    .filter((long): long is string => Boolean(long));

test('the docs are there: README.md and the pages of docs/ it names', () => {
  for (const page of ['cli', 'data', 'aws', 'aws-postgres', 'twin', 'failures', 'performance', 'development'])
    assert.ok(pages.includes(`docs/${page}.md`), `docs/${page}.md`);
});

test(`README.md is at most ${MAX_README_LINES} lines`, () => {
  const lines = read('README.md').trimEnd().split('\n').length;
  assert.ok(lines <= MAX_README_LINES, `README.md has ${lines} lines`);
});

test('every command and option of the CLI is in docs/cli.md, and no other option', () => {
  const commands = buildCli().commands;
  const names = commands.map((c) => c.name());
  assert.ok(names.includes('run') && names.includes('status'), `commands: ${names}`);
  const documented = new Set([...cliPage.matchAll(/`(--[a-z-]+)`/g)].map((m) => m[1]));
  const actual = new Set<string>();
  for (const command of commands) {
    assert.match(cliPage, new RegExp(`census-etl ${command.name()}\\b`), `no usage of ${command.name()}`);
    assert.match(cliPage, new RegExp(`^\\| \`${command.name()}\` \\|`, 'm'), `${command.name()}: no row`);
    for (const option of optionsOf(command)) {
      actual.add(option);
      assert.ok(documented.has(option), `${command.name()} ${option} is not in docs/cli.md`);
    }
  }
  for (const option of documented)
    assert.ok(actual.has(option), `docs/cli.md documents ${option}, which no command has`);
});

test('every field of the parameters file is in docs/cli.md', () => {
  const fields = Object.keys(ParamsSchema.shape);
  assert.ok(fields.includes('batchSize') && fields.includes('retry'), `fields: ${fields}`);
  for (const field of fields) assert.match(cliPage, new RegExp(`^\\| \`${field}\` \\|`, 'm'), field);
});

test('every setting of the stack is in docs/aws.md or docs/aws-postgres.md', () => {
  const documented = read('docs/aws.md') + read('docs/aws-postgres.md');
  for (const variable of Object.values(ENV))
    assert.ok(documented.includes(`\`${variable}\``), `${variable} is in neither page`);
});

/** The cells of a Markdown table row (`\|` inside a cell is not a separator). */
const cells = (row: string) =>
  row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/**
 * The tests a Test cell names: each file (`x.test.ts`, under test/runner/ unless its path starts
 * with test/) and, after `›`, the beginning of a test's name, ended by `…`, in the file named
 * before it.
 */
function testsNamed(cell: string): { file: string; names: string[] }[] {
  const named: { file: string; names: string[] }[] = [];
  for (const m of cell.matchAll(/`([^`]+\.test\.ts)`|›\s*([^…]*)…/g)) {
    if (m[1]) named.push({ file: m[1].startsWith('test/') ? m[1] : `test/runner/${m[1]}`, names: [] });
    else {
      assert.ok(named.length, `"› ${m[2]}" names no file before it`);
      named.at(-1)!.names.push(m[2].trim());
    }
  }
  return named;
}

test('every row of the failure table in docs/failures.md names tests that exist', () => {
  const rows = read('docs/failures.md')
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| What happens when…'));
  assert.ok(rows.length >= 40, `${rows.length} rows`);
  const namesOf = new Map<string, string[]>();
  for (const row of rows) {
    const [what, , , tests] = cells(row);
    assert.equal(cells(row).length, 4, `a row of four cells: ${what}`);
    const named = testsNamed(tests);
    assert.ok(named.length, `"${what}" names no test file`);
    for (const { file, names } of named) {
      assert.ok(existsSync(path.join(ROOT, file)), `"${what}": ${file} does not exist`);
      if (!namesOf.has(file)) namesOf.set(file, testNamesIn(path.join(ROOT, file)));
      for (const name of names)
        assert.ok(
          namesOf.get(file)!.some((n) => beginsWith(n, name)),
          `"${what}": no test in ${file} begins "${name}"`,
        );
    }
  }
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors of a page's headings (outside code blocks), numbered as GitHub numbers repeats. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of withoutCode(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return anchors;
}

/** A page without its fenced code blocks and inline code, where brackets are not links. */
const withoutCode = (text: string) =>
  text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');

test('every relative link of README.md and docs/ resolves to a file (and a heading in it)', () => {
  let links = 0;
  for (const page of pages) {
    for (const m of withoutCode(read(page)).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue;
      links++;
      const [file, hash] = target.split('#');
      const resolved = file ? path.join(path.dirname(page), file) : page;
      assert.ok(existsSync(path.join(ROOT, resolved)), `${page}: ${target} is not a file`);
      if (hash && resolved.endsWith('.md'))
        assert.ok(anchorsOf(read(resolved)).has(hash), `${page}: ${target}: no such heading`);
    }
  }
  assert.ok(links > 20, `${links} links found`);
});

test(`the AWS twin types only commands ${COMMANDS_PAGE} shows, and it shows them all`, () => {
  assert.deepEqual(userCommands(), JOURNEY_COMMANDS);
  const shown = commandsIn(read(COMMANDS_PAGE));
  for (const command of ['npx cdktf deploy', 'npm run logs', 'npm run sync', 'npx cdktf destroy'])
    assert.ok(shown.includes(command), `the user's journey: ${command}`);
});
