/** Bad parameters through the real CLI: exit 2, a message naming the field, nothing written. */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { finished, startCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';

type Case = { name: string; params?: string; flags?: string[]; names: RegExp };

const json = (o: object) => JSON.stringify(o);
const CASES: Case[] = [
  {
    name: 'invalid JSON',
    params: '{"batchSize": 10,',
    names: /parameters file .*params\.json is not valid JSON/,
  },
  {
    name: 'not an object',
    params: '[1, 2]',
    names: /parameters file .*params\.json must hold a JSON object/,
  },
  { name: 'a number as a string', params: json({ batchSize: '10' }), names: /batchSize: .*expected number/i },
  {
    name: 'an unknown field (a typo)',
    params: json({ batchsize: 10 }),
    names: /unrecognized key.*"batchsize"/i,
  },
  { name: 'batch size 0', params: json({ batchSize: 0 }), names: /batchSize: .*>0/ },
  { name: 'a negative batch size', params: json({ batchSize: -5 }), names: /batchSize: .*>0/ },
  { name: 'a fractional batch size', params: json({ batchSize: 1.5 }), names: /batchSize: .*expected int,/ },
  {
    name: 'a source URI of an unknown scheme',
    params: json({ sources: [{ uri: 'ftp://example.com/Adult.data' }] }),
    names: /sources\.0\.uri: must be a local path, an s3:\/\/bucket\/key or an https:\/\/ URL/,
  },
  {
    name: 'a results URI without a bucket',
    params: json({ results: 's3://' }),
    names: /results: must be s3:\/\/bucket\/prefix\//,
  },
  {
    name: 'a schedule that does not divide a minute',
    params: json({ everySeconds: 7 }),
    names: /everySeconds: must be one of 1, 2, 3/,
  },
  { name: 'no sources at all', params: json({ sources: [] }), names: /sources: .*>=1/ },
  {
    name: '--batch-size 0',
    flags: ['--batch-size', '0'],
    names: /option '--batch-size <n>' argument '0' is invalid\. must be a positive integer/,
  },
  { name: '--every 7', flags: ['--every', '7'], names: /everySeconds: must be one of/ },
  {
    name: 'a parameters file that does not exist',
    flags: ['--params', 'no/such/params.json'],
    names: /cannot read parameters file no\/such\/params\.json/,
  },
];

test('bad parameters: exit 2, the message names the field, no database and no log written', async () => {
  // Started together: each is a separate process, and they share nothing.
  const runs = CASES.map((c) => {
    const dir = tempDir();
    const args = [
      'run',
      '--unthrottled',
      '--db',
      path.join(dir, 'census.db'),
      '--log',
      path.join(dir, 'census-etl.log'),
    ];
    if (c.params !== undefined) {
      writeFileSync(path.join(dir, 'params.json'), c.params);
      args.push('--params', path.join(dir, 'params.json'));
    }
    return { c, dir, result: finished(startCli([...args, ...(c.flags ?? [])])) };
  });
  for (const { c, dir, result } of runs) {
    const r = await result;
    assert.equal(r.code, 2, `${c.name}: exit code\n${r.stderr}`);
    assert.match(r.stderr, c.names, c.name);
    assert.equal(r.stdout, '', `${c.name}: nothing logged`);
    assert.deepEqual(
      readdirSync(dir),
      c.params === undefined ? [] : ['params.json'],
      `${c.name}: nothing written`,
    );
  }
});
