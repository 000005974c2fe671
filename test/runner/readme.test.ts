/** The README is checked against the CLI and the parameters schema, so it stays true. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ParamsSchema } from '../../runner/params.ts';
import { ROOT, runCli } from '../support/cli.ts';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
/** The runner's part of the README (the scripts of the AWS part have options of their own). */
const runnerPart = readme.slice(
  readme.indexOf('## Running it locally'),
  readme.indexOf('## Running it on AWS'),
);
const optionsOf = (help: string) => [...help.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]);

test("every option of every command is documented in the README's runner part, and no other", () => {
  const commands = [...runCli(['--help']).stdout.matchAll(/^ {2}(\w+) \[options\]/gm)].map((m) => m[1]);
  assert.ok(commands.includes('run') && commands.includes('status'), `commands: ${commands}`);
  assert.ok(runnerPart.includes('## The command line'), 'the runner sections are where they were');
  const documented = new Set([...runnerPart.matchAll(/`(--[a-z-]+)`/g)].map((m) => m[1]));
  const actual = new Set<string>();
  for (const command of commands) {
    const help = runCli([command, '--help']);
    assert.equal(help.code, 0);
    const options = optionsOf(help.stdout);
    for (const option of options) {
      actual.add(option);
      assert.ok(documented.has(option), `${command} ${option} is not in the README`);
    }
    assert.match(
      runnerPart,
      new RegExp(`census-etl ${command}\\b`),
      `the README shows no usage of ${command}`,
    );
  }
  for (const option of documented)
    assert.ok(actual.has(option), `the README documents ${option}, which no command has`);
});

test('every field of the parameters file is documented in the README', () => {
  for (const field of Object.keys(ParamsSchema.shape))
    assert.match(readme, new RegExp(`\\| \`${field}\` \\|`), field);
});
