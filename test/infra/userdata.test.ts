/**
 * The user-data, as text: order of the steps, what it fetches and runs, how it names the run
 * and records one that dies, and shellcheck. (twin-instance.test.ts runs it.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { INSTANCE, RELEASE_FILES } from '../../infra/layout.ts';
import { userData } from '../../infra/userdata.ts';
import { requireTool } from '../support/tools.ts';

const input = { region: 'eu-west-3', bucket: 'census-etl-123', release: 'abc', timeLimitMinutes: 25 };
const script = userData({ ...input, architecture: 'x86_64' });
const lines = script.split('\n');
const at = (pattern: RegExp) => {
  const i = lines.findIndex((l) => pattern.test(l));
  assert.notEqual(i, -1, `no line matches ${pattern}`);
  return i;
};

test('the hard time limit is the first command; the exit trap is set before any step that can fail', () => {
  const commands = lines.filter((l) => l.trim() && !l.startsWith('#'));
  assert.deepEqual(commands.slice(0, 2), ['set -euo pipefail', 'shutdown -h +25']);
  const trap = at(/^trap finish EXIT$/);
  for (const step of [/^if \[\[ \$\(uname -m\)/, /^dnf install/, /^aws s3 cp/, /^if systemctl start/]) {
    assert.ok(at(step) > trap, `${step} after the trap`);
  }
});

test('the run is named at boot: its UTC start time and the release; the loader gets it', () => {
  assert.ok(lines.includes('run_id="$(date -u +%Y%m%dT%H%M%SZ)-abc"'));
  assert.ok(lines.includes('run_prefix="s3://census-etl-123/results/$run_id/"'));
  assert.ok(at(/^run_id=/) < at(/^trap finish EXIT$/), 'every failure has a run to record');
});

test("on exit: unless the loader completed, the log and run.json go to the run's prefix; power off", () => {
  const body = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
  assert.match(body, /trap - EXIT/);
  assert.match(body, /if \[\[ \$state != complete \]\]; then/);
  const upload = 'aws s3 cp --only-show-errors';
  assert.ok(body.includes(`${upload} /var/log/census-etl/census-etl.log "$run_prefix"census-etl.log`));
  assert.ok(body.includes('"progress":null}'));
  assert.ok(body.includes(`${upload} --content-type application/json - "$run_prefix"run.json`));
  assert.ok(body.indexOf('"census-etl.log') < body.indexOf('"run.json'), 'the log first: run.json last');
  assert.match(body, /fi\n {2}shutdown -h now\n\}/);
  assert.doesNotMatch(script, /latest\.json/, 'only a complete run (the loader) writes latest.json');
  assert.equal(at(/^ {2}state=complete$/), at(/^if systemctl start census-etl\.service; then$/) + 1);
});

test('why a run ended: the watchdog (stopped), the OOM killer, a signal, an exit with its error', () => {
  const why = script.slice(script.indexOf('case $result in'), script.indexOf('esac'));
  assert.match(why, /timeout\)\n {4}state=stopped\n {4}why="stopped by the time limit: CENSUS_TIME_LIMIT_MI/);
  assert.match(why, /oom-kill\) why="the loader was killed by the kernel for lack of memory/);
  assert.match(why, /if \(\(code == 9\)\); then why\+=" \(SIGKILL: often the out-of-memory killer\)"; fi/);
  const failed = /why="the loader failed \(exit status \$code\)"\n {4}if \[\[ -n \$error \]\]; then why\+=/;
  assert.match(why, failed);
});

test('installs Node 24 only, fetches exactly the release files, installs and compiles nothing', () => {
  assert.match(script, /^dnf install -y -q nodejs24$/m);
  const fetches = lines.filter((l) => l.startsWith('aws s3 cp --only-show-errors "s3://census-etl-123/'));
  const fetched = fetches.map((l) => l.split(' ').slice(-2).join(' '));
  assert.deepEqual(
    fetched,
    Object.values(RELEASE_FILES).map((f) => `"s3://census-etl-123/runner/abc/${f}" "/opt/census-etl/${f}"`),
  );
  assert.deepEqual(Object.values(RELEASE_FILES), [
    'cli.mjs',
    'parser.mjs',
    'better_sqlite3.node',
    'params.json',
  ]);
  assert.match(script, /^export AWS_REGION=eu-west-3 AWS_DEFAULT_REGION=eu-west-3$/m);
  assert.doesNotMatch(script, /\bnpm|npx|node-gyp|make|gcc|curl|wget|git\b/);
});

test("refuses a machine of another architecture than the addon's, before installing anything", () => {
  const check = (arch: 'x86_64' | 'arm64') => userData({ ...input, architecture: arch }).split('\n');
  const [x86, arm] = [check('x86_64'), check('arm64')];
  assert.ok(x86.includes('if [[ $(uname -m) != x86_64 ]]; then'));
  assert.ok(arm.includes('if [[ $(uname -m) != aarch64 ]]; then'));
  assert.match(arm.join('\n'), /native addon is linux-arm64 \(aarch64\), but this machine is \$\(uname -m\)/);
  assert.ok(at(/^if \[\[ \$\(uname -m\)/) < at(/^dnf install/));
});

test('the loader runs as a oneshot systemd service; its errors join the log file npm run logs tails', () => {
  const unit = script.slice(script.indexOf('<<UNIT\n') + 7, script.indexOf('\nUNIT\n'));
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^Environment=AWS_REGION=eu-west-3$/m);
  const params = '--params /opt/census-etl/params.json';
  const start = `ExecStart=node-24 /opt/census-etl/cli.mjs run ${params} --run-id $run_id`;
  assert.ok(unit.split('\n').includes(start));
  // The watchdog: the start (a oneshot's whole run) times out 120 s before the limit, from boot.
  assert.ok(lines.includes('watchdog=$((booted + 1380 - $(date +%s)))'), `${25 * 60 - 120} s after boot`);
  assert.ok(unit.split('\n').includes('TimeoutStartSec=$watchdog'));
  assert.match(unit, /^TimeoutStopSec=20$/m);
  assert.match(unit, /^StandardOutput=null$/m);
  assert.match(unit, new RegExp(`^StandardError=append:${INSTANCE.log}$`, 'm'));
  assert.match(script, new RegExp(`^exec >>${INSTANCE.log} 2>&1$`, 'm'));
});

test('no "${" or "%{" anywhere: Terraform would read them as its own templates', () => {
  assert.doesNotMatch(script, /\$\{|%\{/);
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
