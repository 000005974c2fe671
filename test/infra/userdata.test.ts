/** The user-data, as text: order of the steps, what it fetches and runs, and shellcheck. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { INSTANCE, RELEASE_FILES } from '../../infra/layout.ts';
import { userData } from '../../infra/userdata.ts';
import { requireTool } from '../support/tools.ts';

const input = {
  region: 'eu-west-3',
  bucket: 'census-etl-123',
  releasePrefix: 'runner/abc/',
  timeLimitMinutes: 25,
};
const script = userData({ ...input, architecture: 'x86_64' });
const lines = script.split('\n');
const at = (pattern: RegExp) => {
  const i = lines.findIndex((l) => pattern.test(l));
  assert.notEqual(i, -1, `no line matches ${pattern}`);
  return i;
};

test('the hard time limit is the first command; the exit trap is set before any step that can fail', () => {
  const commands = lines.filter((l) => l.trim() && !l.startsWith('#'));
  assert.deepEqual(commands.slice(0, 3), ['set -euo pipefail', 'shutdown -h +25', `mkdir -p ${INSTANCE.logDir} ${INSTANCE.home}`]);
  const trap = at(/^trap finish EXIT$/);
  for (const step of [/^if \[\[ \$\(uname -m\)/, /^dnf install/, /^aws s3 cp/, /^systemctl start/]) {
    assert.ok(at(step) > trap, `${step} after the trap`);
  }
});

test('on exit: the log goes to results/ unless the loader published, then the machine powers off', () => {
  const body = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
  assert.match(body, /trap - EXIT/);
  assert.match(body, /if \[\[ \$loader_done != true \]\]; then[\s\S]*aws s3 cp --only-show-errors \/var\/log\/census-etl\/census-etl\.log "s3:\/\/census-etl-123\/results\/census-etl\.log"[\s\S]*fi\n  shutdown -h now\n\}/);
  assert.ok(at(/^loader_done=true$/) === at(/^systemctl start census-etl\.service$/) + 1, 'done only right after the service succeeded');
});

test('installs Node 24 only, fetches exactly the release files, installs and compiles nothing', () => {
  assert.match(script, /^dnf install -y -q nodejs24$/m);
  const fetched = lines.filter((l) => l.startsWith('aws s3 cp')).map((l) => l.split(' ').slice(-2).join(' '));
  assert.deepEqual(
    fetched,
    Object.values(RELEASE_FILES).map((f) => `"s3://census-etl-123/runner/abc/${f}" "/opt/census-etl/${f}"`),
  );
  assert.deepEqual(Object.values(RELEASE_FILES), ['cli.mjs', 'better_sqlite3.node', 'params.json']);
  assert.match(script, /^export AWS_REGION=eu-west-3 AWS_DEFAULT_REGION=eu-west-3$/m);
  assert.doesNotMatch(script, /\bnpm|npx|node-gyp|make|gcc|curl|wget|git\b/);
});

test('refuses a machine of another architecture than the addon\'s, before installing anything', () => {
  const check = (arch: 'x86_64' | 'arm64') => userData({ ...input, architecture: arch }).split('\n');
  const [x86, arm] = [check('x86_64'), check('arm64')];
  assert.ok(x86.includes('if [[ $(uname -m) != x86_64 ]]; then'));
  assert.ok(arm.includes('if [[ $(uname -m) != aarch64 ]]; then'));
  assert.match(arm.join('\n'), /native addon is linux-arm64 \(aarch64\), but this machine is \$\(uname -m\)/);
  assert.ok(at(/^if \[\[ \$\(uname -m\)/) < at(/^dnf install/));
});

test('the loader runs as a oneshot systemd service; its errors join the log file npm run logs tails', () => {
  const unit = script.slice(script.indexOf("<<'UNIT'\n") + 8, script.indexOf('\nUNIT\n'));
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^Environment=AWS_REGION=eu-west-3$/m);
  const start = 'ExecStart=node-24 /opt/census-etl/cli.mjs run --params /opt/census-etl/params.json';
  assert.ok(unit.split('\n').includes(start));
  assert.match(unit, /^StandardOutput=null$/m);
  assert.match(unit, new RegExp(`^StandardError=append:${INSTANCE.log}$`, 'm'));
  assert.match(script, new RegExp(`^exec >>${INSTANCE.log} 2>&1$`, 'm'));
});

test('passes shellcheck', (t) => {
  if (!requireTool(t, 'shellcheck')) return;
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
});

test('shellcheck does catch a broken user-data (the check above can fail)', (t) => {
  if (!requireTool(t, 'shellcheck')) return;
  const broken = script.replace(`mkdir -p ${INSTANCE.logDir}`, 'mkdir -p $HOME/x');
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: broken, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});
