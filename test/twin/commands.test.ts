/** The twin reads the commands it types from the docs' sh blocks, and stops when one is missing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOURNEY_COMMANDS, commandsIn, documented } from '../../twin/commands.ts';

const page = [
  '# Deploy',
  '',
  'Type `npm run nothing` (inline code is not a block).',
  '',
  '```sh',
  'npx cdktf deploy         # bucket + instance: a run',
  '',
  '# a comment line',
  'echo \'a # in quotes\' "and # here"   # the comment',
  'CENSUS_BATCH_SIZE=100 \\',
  '  npx cdktf deploy --auto-approve',
  '```',
  '',
  '```',
  'npm run output-not-a-command',
  '```',
  '',
  '```json',
  '{ "sources": [] }',
  '```',
  '',
  '~~~sh',
  'npm run sync -- --list',
  '~~~',
  '',
  '    npm run indented-not-fenced',
].join('\n');

test('commandsIn: the lines of sh blocks, without comments, continued lines joined', () => {
  assert.deepEqual(commandsIn(page), [
    'npx cdktf deploy',
    'echo \'a # in quotes\' "and # here"',
    'CENSUS_BATCH_SIZE=100 npx cdktf deploy --auto-approve',
    'npm run sync -- --list',
  ]);
  assert.deepEqual(commandsIn('no blocks at all'), []);
  assert.deepEqual(commandsIn('```sh\nnpm test\n'), ['npm test'], 'unclosed, a block runs to the end');
  assert.deepEqual(commandsIn('```sh\r\nnpm test\r\n```\r\n'), ['npm test'], 'CRLF');
});

test('documented: the commands a page shows; an error naming each one it does not', () => {
  const wanted = { list: 'npm run sync -- --list', deploy: 'npx cdktf deploy' };
  assert.deepEqual(documented(wanted, page), wanted);
  assert.throws(
    () => documented({ ...wanted, rerun: 'npm run rerun', logs: 'npm run logs' }, page, 'docs/x.md'),
    {
      message:
        'the twin types what docs/x.md shows, and its sh blocks do not show `npm run rerun`, `npm run logs`',
    },
  );
  assert.throws(() => documented({ nothing: 'npm run nothing' }, page), /`npm run nothing`/, 'inline code');
  assert.throws(() => documented(JOURNEY_COMMANDS, page), /`npm run logs`/);
});
