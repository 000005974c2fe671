/** npm run logs: ssh to the instance named in the stack outputs and follow the loader's log. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { skipUnless } from '../support/tools.ts';
import { applyOutputs } from './state.ts';

const skip = skipUnless('terraform');

/**
 * Runs the script as `npm run logs` does (in the project folder), with a stack whose state
 * Terraform wrote from `outputs` (CENSUS_STATE_FILE relative, as the stack resolves it: from
 * the project folder), and an `ssh` that prints its arguments.
 */
function logs(outputs: Record<string, string>, ...args: string[]) {
  const env = { ...process.env, CENSUS_STATE_FILE: `out/test-state-${process.pid}/terraform.tfstate` };
  const state = applyOutputs(env, outputs);
  const bin = tempDir();
  writeFileSync(path.join(bin, 'ssh'), '#!/bin/sh\necho "ssh $*"\n');
  chmodSync(path.join(bin, 'ssh'), 0o755);
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'logs.ts'), ...args], {
      cwd: ROOT,
      env: { ...env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
  } finally {
    rmSync(path.dirname(state), { recursive: true, force: true });
  }
}

const deployed = {
  region: 'eu-west-3',
  results_uri: 's3://census-etl-1/results/',
  instance_id: 'i-0abc',
  public_dns: 'ec2-203-0-113-9.compute-1.amazonaws.com',
  ssh_command: 'ssh ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com',
};

test('follows the loader log over ssh; extra arguments reach ssh first', { skip }, () => {
  const r = logs(deployed, '-i', 'key.pem');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ssh -i key.pem ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com tail -n +1 -F /var/log/census-etl/census-etl.log');
});

test('a stack without SSH says how to allow it', { skip }, () => {
  const r = logs({ ...deployed, ssh_command: 'none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /logs: the stack allows no SSH \(none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH\)/);
  assert.equal(r.stdout, '');
});

test('a terminated instance (no public DNS) is reported, not ssh-ed to', { skip }, () => {
  const r = logs({ ...deployed, public_dns: '' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /instance i-0abc has no public DNS name/);
});
