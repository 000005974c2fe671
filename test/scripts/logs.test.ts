/**
 * npm run logs: follows the instance's run from S3 (moto), as the instance and the loader write
 * it (runner/publish/results.ts's layout), until run.json ends it; waits, saying so, until the run
 * exists; `--ssh` keeps the SSH tail. The stack's outputs come from a state Terraform wrote.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startMoto, type Moto } from '../../twin/moto.ts';
import { runId, type RunDocument, type RunState } from '../../runner/publish/results.ts';
import { ROOT } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';
import { applyOutputs } from './state.ts';
import { terminalText } from '../../scripts/lib/logs.ts';

const skip = skipUnless('terraform') || skipUnless('moto_server');
let moto: Moto;
let results: Bucket;
const bucket = 'census-logs';

before(async () => {
  if (skip) return;
  moto = await startMoto();
  results = await createBucket(moto, bucket);
});
after(async () => moto?.stop());

const deployed = {
  region: 'us-east-1',
  release: 'r1',
  time_limit_minutes: '10',
  instance_id: 'i-0abc',
  public_dns: 'ec2-203-0-113-9.compute-1.amazonaws.com',
  ssh_command: 'ssh ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com',
};

/**
 * The environment of `npm run logs` for a stack whose state Terraform wrote from `outputs`,
 * with an `ssh` on PATH that prints its arguments.
 */
function stack(outputs: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...moto.env, CENSUS_STATE_FILE: path.join(tempDir(), 'terraform.tfstate') };
  applyOutputs(env, outputs);
  const bin = tempDir();
  writeFileSync(path.join(bin, 'ssh'), '#!/bin/sh\necho "ssh $*"\n');
  chmodSync(path.join(bin, 'ssh'), 0o755);
  return { ...env, PATH: `${bin}:${process.env.PATH}` };
}

const LOGS = ['--import', 'tsx', path.join(ROOT, 'scripts', 'logs.ts')];

/** `npm run logs` started (in the project folder, as npm runs it); resolves with how it ended. */
function logs(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [...LOGS, ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const ended = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return { ended, stdout: () => stdout, stderr: () => stderr };
}

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Writes a run's log and run.json under `prefix`, as the loader (or the instance) does. */
async function write(prefix: string, run: string, state: RunState, log: string, why: string | null = null) {
  const now = new Date().toISOString();
  const doc: RunDocument = { run, release: 'r1', state, why, startedAt: now, updatedAt: now, progress: null };
  await results.put(`${prefix}${run}/census-etl.log`, log);
  await results.put(`${prefix}${run}/run.json`, JSON.stringify(doc));
}

test(
  'follows a live run from S3 as its log grows, each line once, and ends when it completes',
  { skip },
  async () => {
    const run = runId(new Date(), 'r1');
    const env = stack({
      ...deployed,
      results_uri: `s3://${bucket}/live/`,
      instance_created_at: new Date().toISOString(),
    });
    await write('live/', run, 'running', 'batch 1/3\n');
    const following = logs(env);
    await until('the first lines', () => following.stdout().includes('batch 1/3\n'));
    assert.match(
      following.stderr(),
      new RegExp(`logs: following run ${run} from s3://${bucket}/live/${run}/`),
    );
    await write('live/', run, 'running', 'batch 1/3\nbatch 2/3\n');
    await until('more lines', () => following.stdout().includes('batch 2/3\n'));
    await write('live/', run, 'complete', 'batch 1/3\nbatch 2/3\nbatch 3/3\npublished\n');
    const r = await following.ended;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'batch 1/3\nbatch 2/3\nbatch 3/3\npublished\n');
    assert.match(r.stderr, new RegExp(`logs: run ${run} is complete`));
  },
);

test(
  'waits, saying for what, until the instance starts its run; runs from before the instance are not it',
  { skip },
  async () => {
    const created = new Date();
    await write(
      'wait/',
      runId(new Date(created.getTime() - 3_600_000), 'r1'),
      'complete',
      'an earlier run\n',
    );
    const env = stack({
      ...deployed,
      results_uri: `s3://${bucket}/wait/`,
      instance_created_at: created.toISOString(),
    });
    const following = logs(env);
    await until('the wait to be said', () => following.stderr().includes('waiting for instance'));
    assert.match(
      following.stderr(),
      /logs: waiting for instance i-0abc \(created \S+\) to start its run under s3:\/\/census-logs\/wait\/: /,
    );
    const run = runId(new Date(), 'r1');
    await write(
      'wait/',
      run,
      'failed',
      'census-etl: error: gone\n',
      'the loader failed (exit status 1): gone',
    );
    const r = await following.ended;
    assert.equal(r.status, 1);
    assert.equal(r.stdout, 'census-etl: error: gone\n', 'the earlier run is not followed');
    assert.match(
      r.stderr,
      new RegExp(`logs: run ${run} failed: the loader failed \\(exit status 1\\): gone`),
    );
  },
);

test(
  '--ssh follows the log on the instance; extra arguments reach ssh first; no SSH says so',
  { skip },
  () => {
    const run = (outputs: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [...LOGS, '--ssh', ...args], {
        cwd: ROOT,
        env: stack(outputs),
        encoding: 'utf8',
      });
    const base = {
      ...deployed,
      results_uri: `s3://${bucket}/ssh/`,
      instance_created_at: new Date().toISOString(),
    };
    const r = run(base, '-i', 'key.pem');
    assert.equal(r.status, 0, r.stderr);
    const tail = 'tail -n +1 -F /var/log/census-etl/census-etl.log';
    assert.equal(r.stdout.trim(), `ssh -i key.pem ec2-user@ec2-203-0-113-9.compute-1.amazonaws.com ${tail}`);

    const closed = run({
      ...base,
      ssh_command: 'none: set CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR to allow SSH',
    });
    assert.equal(closed.status, 1);
    assert.match(
      closed.stderr,
      /logs: the stack allows no SSH \(none: set .*\); npm run logs follows the run from S3/,
    );
    const stopped = run({ ...base, public_dns: '' });
    assert.equal(stopped.status, 1);
    assert.match(stopped.stderr, /instance i-0abc has no public DNS name/);
  },
);

test('the log as the terminal gets it: controls visible, UTF-8 and CRLF whole across reads', () => {
  const show = terminalText();
  const bytes = Buffer.from('batch 1 ✓\r\n\x1b]0;owned\x07\x1b[1A\x1b[2Kbatch 2\rbatch 3\n');
  // Cut inside the "✓" and between CR and LF, as ranged reads may.
  const cuts = [0, 9, 11, 12, bytes.length];
  const read = cuts.slice(1).map((end, i) => show(bytes.subarray(cuts[i], end)));
  assert.equal(read.join(''), 'batch 1 ✓\r\n\\x1b]0;owned\\x07\\x1b[1A\\x1b[2Kbatch 2\\x0dbatch 3\n');
});

test('--run takes a run id only: anything else is said, exit 2', () => {
  const r = spawnSync(process.execPath, [...LOGS, '--run', '../../x\x1b[2J'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'logs: --run: "../../x\\u001b[2J" is not a run id (YYYYMMDDTHHMMSSZ-<release>)\n');
});

test("a run's log from S3 is printed with its controls made visible", { skip }, async () => {
  const run = runId(new Date(), 'r1');
  const env = stack({ ...deployed, results_uri: `s3://${bucket}/controls/`, instance_created_at: '' });
  const log =
    'batch 1/1 ✓\n\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\\n\x1b[2J\u009b1A\u202eok\r\n';
  await write('controls/', run, 'failed', log, 'boom\x1b]0;owned\x07');
  const r = await logs(env, '--run', run).ended;
  assert.equal(r.status, 1);
  assert.equal(
    r.stdout,
    'batch 1/1 ✓\n\\x1b]8;;https://evil.example/\\x1b\\docs\\x1b]8;;\\x1b\\\n\\x1b[2J\\x9b1A\\u202eok\r\n',
  );
  assert.match(r.stderr, new RegExp(`logs: run ${run} failed: boom\\\\x1b\\]0;owned\\\\x07\\n`));
});
