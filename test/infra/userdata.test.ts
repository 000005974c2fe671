/**
 * The user-data, as text: order of the steps, what it fetches and runs, how it names the run
 * and records one that dies, and shellcheck. (twin-instance.test.ts runs it.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { INSTANCE, RELEASE_FILES, releaseFiles } from '../../infra/layout.ts';
import { userData } from '../../infra/userdata.ts';
import { requireTool } from '../support/tools.ts';

const input = {
  region: 'eu-west-3',
  bucket: 'census-etl-123',
  release: 'abc',
  timeLimitMinutes: 25,
  postgres: null,
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
    releaseFiles(false)
      .map((f) => RELEASE_FILES[f])
      .map((f) => `"s3://census-etl-123/runner/abc/${f}" "/opt/census-etl/${f}"`),
  );
  assert.deepEqual(
    releaseFiles(false).map((f) => RELEASE_FILES[f]),
    ['cli.mjs', 'parser.mjs', 'better_sqlite3.node', 'params.json'],
  );
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

const SECRET = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rds!db-5f2a-AbCdEf';
const withDatabase = userData({ ...input, architecture: 'x86_64', postgres: { secretArn: SECRET } });

test('passes shellcheck, with SQLite and with PostgreSQL', (t) => {
  if (!requireTool(t, 'shellcheck')) return;
  for (const text of [script, withDatabase]) {
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout);
  }
});

test('shellcheck does catch a broken user-data (the check above can fail)', (t) => {
  if (!requireTool(t, 'shellcheck')) return;
  const broken = script.replace(`mkdir -p ${INSTANCE.logDir}`, 'mkdir -p $HOME/x');
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: broken, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});

test('SQLite: no secret, no password file, no CA bundle', () => {
  assert.doesNotMatch(script, /secretsmanager|EnvironmentFile|\/run\/|database-ca|PGPASSWORD/);
});

test('PostgreSQL: fetches the CA bundle too, then the password from the secret, before the loader', () => {
  const text = withDatabase.split('\n');
  const line = (pattern: RegExp) => {
    const i = text.findIndex((l) => pattern.test(l));
    assert.notEqual(i, -1, `no line matches ${pattern}`);
    return i;
  };
  const ca = 'aws s3 cp --only-show-errors "s3://census-etl-123/runner/abc/database-ca.pem" ';
  assert.ok(text.includes(`${ca}"/opt/census-etl/database-ca.pem"`));
  assert.ok(line(/database-ca\.pem/) < line(/^password_secret=/));
  assert.equal(text.filter((l) => l.includes(SECRET)).length, 1, 'the ARN, once, in a variable');
  assert.ok(text.includes(`password_secret="${SECRET}"`));
  const read = 'aws secretsmanager get-secret-value --secret-id "$password_secret" --query SecretString';
  assert.ok(text.includes(`  ${read} --output text |`));
  assert.ok(text.includes(`    node-24 -e "$password_line" >${INSTANCE.databaseEnv}`));
  // Root's alone: a folder only root may enter, the file made under umask 077, in a subshell.
  assert.ok(line(/^install -d -m 700 \/run\/census-etl$/) < line(/^ {2}umask 077$/));
  assert.ok(line(/^ {2}umask 077$/) < line(/secretsmanager get-secret-value/));
  assert.ok(line(/^why="reading the database password from Secrets Manager/) < line(/get-secret-value/));
  assert.ok(line(/get-secret-value/) < line(/^if systemctl start/));
  const unit = withDatabase.slice(withDatabase.indexOf('<<UNIT\n'), withDatabase.indexOf('\nUNIT\n'));
  assert.match(unit, /^Environment=AWS_REGION=eu-west-3\nEnvironmentFile=\/run\/census-etl\/database\.env$/m);
  assert.doesNotMatch(withDatabase, /set -x|echo "\$password|cat .*database\.env/);
  assert.doesNotMatch(withDatabase, /\$\{|%\{/, 'no Terraform template but the ARN the stack puts there');
});

/** The password line's JavaScript, run as the user-data runs it, on `secret` (stdin). */
function passwordLine(secret: string) {
  const js = /^password_line='([^']*)'$/m.exec(withDatabase)![1];
  return spawnSync(process.execPath, ['-e', js], { input: secret, encoding: 'utf8' });
}

test('the password becomes PGPASSWORD="…" with systemd\'s double-quote escapes; nothing else', () => {
  const password = 'a$b`c\\d"e!#%&*()[]{}~^\'z';
  const r = passwordLine(JSON.stringify({ username: 'census', password }));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'PGPASSWORD="a\\$b\\`c\\\\d\\"e!#%&*()[]{}~^\'z"\n');
  assert.equal(r.stderr, '');
});

test('a secret that is no JSON, or holds no printable password, fails without showing any of it', () => {
  const secrets = ['{"password": "hunter2', '{"user": "hunter2"}', '{"password": "hun\\nter2"}', 'hunter2'];
  for (const secret of secrets) {
    const r = passwordLine(secret);
    assert.equal(r.status, 1, secret);
    assert.equal(r.stdout, '', secret);
    assert.ok(!r.stderr.includes('hunter') && !r.stderr.includes('nter2'), r.stderr);
    assert.match(r.stderr, /the secret holds no password of printable ASCII \(not shown\)/);
  }
});
