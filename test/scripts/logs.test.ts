/** npm run logs: ssh to the instance named in the stack outputs and follow the loader's log. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';

/** Runs the script with a stack state holding `outputs` and an `ssh` that prints its arguments. */
function logs(outputs: Record<string, string>, ...args: string[]) {
  const dir = tempDir();
  const state = path.join(dir, 'terraform.tfstate');
  writeFileSync(state, JSON.stringify({ version: 4, outputs: Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, type: 'string' }])) }));
  writeFileSync(path.join(dir, 'ssh'), '#!/bin/sh\necho "ssh $*"\n');
  chmodSync(path.join(dir, 'ssh'), 0o755);
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'logs.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CENSUS_STATE_FILE: state },
    encoding: 'utf8',
  });
}

const deployed = {
  results_uri: 's3://census-etl-1/results/',
  instance_id: 'i-0abc',
  public_dns: 'ec2-203-0-113-9.compute-1.amazonaws.com',
  ssh_command: 'ssh ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com',
};

test('follows the loader log over ssh; extra arguments reach ssh first', () => {
  const r = logs(deployed, '-i', 'key.pem');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ssh -i key.pem ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com tail -n +1 -F /var/log/census-etl/census-etl.log');
});

test('a stack without SSH says how to allow it', () => {
  const r = logs({ ...deployed, ssh_command: 'none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /logs: the stack allows no SSH \(none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH\)/);
  assert.equal(r.stdout, '');
});

test('a terminated instance (no public DNS) is reported, not ssh-ed to', () => {
  const r = logs({ ...deployed, public_dns: '' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /instance i-0abc has no public DNS name/);
});
