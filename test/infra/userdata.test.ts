/** The user-data, as text: order of the steps, what it fetches and runs, and shellcheck. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { INSTANCE } from '../../infra/layout.ts';
import { userData } from '../../infra/userdata.ts';
import { requireTool } from '../support/tools.ts';

const script = userData({ region: 'eu-west-3', bucket: 'census-etl-123', releasePrefix: 'runner/abc/', timeLimitMinutes: 25 });
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
  for (const step of [/^dnf install/, /^aws s3 cp/, /npm-20 install/, /^systemctl start/]) assert.ok(at(step) > trap, `${step} after the trap`);
});

test('on exit: the log goes to results/ unless the loader published, then the machine powers off', () => {
  const body = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
  assert.match(body, /trap - EXIT/);
  assert.match(body, /if \[\[ \$loader_done != true \]\]; then[\s\S]*aws s3 cp --only-show-errors \/var\/log\/census-etl\/census-etl\.log "s3:\/\/census-etl-123\/results\/census-etl\.log"[\s\S]*fi\n  shutdown -h now\n\}/);
  assert.ok(at(/^loader_done=true$/) === at(/^systemctl start census-etl\.service$/) + 1, 'done only right after the service succeeded');
});

test('installs Node 20 and fetches exactly the release: bundle, parser, package.json, params', () => {
  assert.match(script, /^dnf install -y -q nodejs20 nodejs20-npm$/m);
  const fetched = lines.filter((l) => l.startsWith('aws s3 cp')).map((l) => l.split(' ').slice(-2).join(' '));
  assert.deepEqual(fetched, [
    '"s3://census-etl-123/runner/abc/cli.mjs" "/opt/census-etl/cli.mjs"',
    '"s3://census-etl-123/runner/abc/parser.mjs" "/opt/census-etl/parser.mjs"',
    '"s3://census-etl-123/runner/abc/package.json" "/opt/census-etl/package.json"',
    '"s3://census-etl-123/runner/abc/params.json" "/opt/census-etl/params.json"',
  ]);
  assert.match(script, /^export AWS_REGION=eu-west-3 AWS_DEFAULT_REGION=eu-west-3$/m);
});

test('the loader runs as a oneshot systemd service whose errors join the log file npm run logs tails', () => {
  const unit = script.slice(script.indexOf("<<'UNIT'\n") + 8, script.indexOf('\nUNIT\n'));
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^Environment=AWS_REGION=eu-west-3$/m);
  assert.match(unit, /^ExecStart=node-20 \/opt\/census-etl\/cli\.mjs run --params \/opt\/census-etl\/params\.json$/m);
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
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script.replace('cd /opt/census-etl', 'cd $HOME/x'), encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});
