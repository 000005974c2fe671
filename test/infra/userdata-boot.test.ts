/**
 * The real user-data booted on the twin's bare instance, with a stand-in release whose "loader"
 * fails, is killed, or hangs until the watchdog stops it: whatever stops it, the log and a
 * run.json saying failed or stopped, and why, reach the run's prefix; latest.json is never
 * written; the instance powers off. With PostgreSQL, the password reaches the loader from the
 * secret, and nowhere else. (The twin boots the real loader: test/twin/twin.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hostArchitecture } from '../../infra/architecture.ts';
import { RELEASE_FILES, releasePrefix } from '../../infra/layout.ts';
import { startMoto, type Moto } from '../../twin/moto.ts';
import { bootInstance, type BootOutcome } from '../../twin/instance.ts';
import { userData } from '../../infra/userdata.ts';
import { RUN_ID, type RunDocument } from '../../runner/publish/results.ts';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RDS_CA_BUNDLE } from '../../infra/cabundle.ts';
import { rdsLikePassword } from '../../twin/postgres.ts';
import { tempDir } from '../support/fixtures.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';

const skip = skipUnless('unshare') || skipUnless('ip') || skipUnless('moto_server') || skipUnless('aws');
let moto: Moto;
let bucket: Bucket;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  bucket = await createBucket(moto, 'census-boot');
});
after(async () => moto?.stop());

const CA_BUNDLE = readFileSync(RDS_CA_BUNDLE.file);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** A secret in moto's Secrets Manager; its ARN. */
function createSecret(name: string, value: string): string {
  const args = [
    'secretsmanager',
    'create-secret',
    '--name',
    name,
    '--secret-string',
    value,
    '--output',
    'json',
  ];
  const r = spawnSync('aws', args, { env: { ...process.env, ...moto.env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).ARN;
}

/** Stand-in loaders: each says its arguments on stderr (the log), then ends its own way. */
const LOADERS = {
  fails:
    'process.stderr.write(`argv ${process.argv.slice(2).join(" ")}\\n`);\n' +
    'process.stderr.write(`census-etl: error: source "x\\\\y": gone\\n`);\n' +
    'process.exit(1);',
  // A wrong setting: exit 2, its line without "error: " (as the CLI prints a UsageError).
  refuses:
    'process.stderr.write(`argv ${process.argv.slice(2).join(" ")}\\n`);\n' +
    'process.stderr.write(`census-etl: database x: its certificate is not trusted\\n`);\n' +
    'process.exit(2);',
  killed:
    'process.stderr.write(`argv ${process.argv.slice(2).join(" ")}\\n`);\n' +
    'process.kill(process.pid, "SIGKILL");',
  hangs: [
    'process.stderr.write(`argv ${process.argv.slice(2).join(" ")}\\n`);',
    'process.on("SIGTERM", () => {',
    '  process.stderr.write("census-etl: stopped by SIGTERM\\n");',
    '  process.exit(143);',
    '});',
    'setInterval(() => {}, 1000);',
  ].join('\n'),
  // What it was given: the password's hash, the modes of its file and folder, the CA bundle's hash.
  database: [
    'import { createHash } from "node:crypto";',
    'import { readFileSync, statSync } from "node:fs";',
    'const hash = (s) => createHash("sha256").update(s).digest("hex");',
    'const mode = (f) => (statSync(f).mode & 0o777).toString(8);',
    'const say = (line) => process.stderr.write(line + "\\n");',
    'say("argv " + process.argv.slice(2).join(" "));',
    'say("PGPASSWORD sha256 " + hash(process.env.PGPASSWORD ?? ""));',
    'say("modes " + mode("/run/census-etl") + " " + mode("/run/census-etl/database.env"));',
    'say("CA sha256 " + hash(readFileSync("/opt/census-etl/database-ca.pem")));',
    'say("census-etl: error: the stand-in loader has looked");',
    'process.exit(1);',
  ].join('\n'),
  // For a boot that must stop before starting any loader.
  'no-password': 'process.stderr.write("census-etl: error: the loader started\\n"); process.exit(1);',
};

type Booted = BootOutcome & { run: string; doc: RunDocument; log: string; keys: string[] };

/** Uploads a release whose loader is `loader`, boots the user-data for it, reads what S3 holds. */
/** With `secretArn`, a PostgreSQL release: its CA bundle, the password from that secret. */
async function boot(
  release: keyof typeof LOADERS,
  o: { watchdogSeconds?: number; secretArn?: string } = {},
): Promise<Booted> {
  const prefix = releasePrefix(release);
  if (o.secretArn) await bucket.put(prefix + RELEASE_FILES.databaseCa, CA_BUNDLE);
  await bucket.put(prefix + RELEASE_FILES.bundle, LOADERS[release]);
  await bucket.put(prefix + RELEASE_FILES.addon, 'no addon: the stand-in loaders load none');
  await bucket.put(prefix + RELEASE_FILES.parser, 'no parser: the stand-in loaders start no thread');
  await bucket.put(prefix + RELEASE_FILES.params, '{}');
  const postgres = o.secretArn ? { secretArn: o.secretArn } : null;
  const input = { region: 'us-east-1', bucket: bucket.name, release, timeLimitMinutes: 10, postgres };
  const outcome = await bootInstance({
    dir: tempDir('census-boot-'),
    userData: userData({ ...input, architecture: hostArchitecture() }),
    aws: { ...moto.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    s3Port: moto.port,
    timeLimitMs: 120_000,
    watchdogSeconds: o.watchdogSeconds,
  });
  const keys = (await bucket.keys('results/')).filter((k) => k.endsWith(`-${release}/run.json`));
  assert.equal(keys.length, 1, `one run of release ${release}: ${keys}`);
  const run = keys[0].split('/')[1];
  const doc = JSON.parse((await bucket.get(keys[0])).toString('utf8')) as RunDocument;
  const log = (await bucket.get(`results/${run}/census-etl.log`)).toString('utf8');
  return { ...outcome, run, doc, log, keys: await bucket.keys(`results/${run}/`) };
}

/** What every run that did not complete must show. */
function recorded(b: Booted, release: string, state: 'failed' | 'stopped'): void {
  assert.equal(b.ended, 'powered off');
  assert.equal(b.calls.at(-1), 'shutdown -h now');
  assert.match(b.run, RUN_ID);
  assert.ok(b.run.endsWith(`-${release}`));
  assert.deepEqual(b.keys, [`results/${b.run}/census-etl.log`, `results/${b.run}/run.json`]);
  assert.deepEqual([b.doc.run, b.doc.release, b.doc.state, b.doc.progress], [b.run, release, state, null]);
  assert.ok(Date.parse(b.doc.startedAt) <= Date.parse(b.doc.updatedAt));
  assert.match(b.log, new RegExp(`^argv run --params /opt/census-etl/params.json --run-id ${b.run}$`, 'm'));
  assert.match(b.log, new RegExp(`census-etl bootstrap: \\S+ ${state} \\(exit 1\\): `));
}

test(
  'a loader that fails: run.json failed, why = its exit status and last error line (JSON-escaped)',
  { skip },
  async () => {
    const b = await boot('fails');
    recorded(b, 'fails', 'failed');
    assert.equal(b.doc.why, 'the loader failed (exit status 1): source "x\\y": gone');
    assert.deepEqual(await bucket.keys('results/latest.json'), []);
  },
);

test(
  'a loader that refuses its settings (exit 2): why = its exit status and its line',
  { skip },
  async () => {
    const b = await boot('refuses');
    recorded(b, 'refuses', 'failed');
    assert.equal(b.doc.why, 'the loader failed (exit status 2): database x: its certificate is not trusted');
  },
);

test(
  'a loader killed (SIGKILL, as the OOM killer does): run.json failed, why names the signal',
  { skip },
  async () => {
    const b = await boot('killed');
    recorded(b, 'killed', 'failed');
    assert.equal(b.doc.why, 'the loader was killed by signal 9 (SIGKILL: often the out-of-memory killer)');
  },
);

test(
  'a loader the watchdog stops (fired early by the twin): run.json stopped by the time limit, log kept',
  { skip },
  async () => {
    const b = await boot('hangs', { watchdogSeconds: 2 });
    recorded(b, 'hangs', 'stopped');
    assert.equal(
      b.doc.why,
      'stopped by the time limit: CENSUS_TIME_LIMIT_MINUTES=10 ' +
        '(the watchdog stops the loader 120 s before it)',
    );
    assert.match(
      b.log,
      /census-etl: stopped by SIGTERM/,
      'the loader was told to stop (SIGTERM), and said so',
    );
    assert.ok(b.calls.includes('systemctl start census-etl.service'));
  },
);

test(
  'PostgreSQL: PGPASSWORD from the secret, through a root-only file on tmpfs; in no log',
  { skip },
  async () => {
    const password = rdsLikePassword();
    const secretArn = createSecret('rds!db-boot', JSON.stringify({ username: 'census', password }));
    const b = await boot('database', { secretArn });
    recorded(b, 'database', 'failed');
    assert.match(
      b.log,
      new RegExp(`^PGPASSWORD sha256 ${sha256(password)}$`, 'm'),
      'the password, unchanged',
    );
    assert.match(b.log, /^modes 700 600$/m, "root's alone");
    assert.match(b.log, new RegExp(`^CA sha256 ${RDS_CA_BUNDLE.sha256}$`, 'm'), "the release's CA bundle");
    assert.match(b.log, /reading the database password from Secrets Manager \(arn:aws:secretsmanager:/);
    for (const text of [b.log, b.console, JSON.stringify(b.doc)]) assert.ok(!text.includes(password));
    assert.ok(b.calls.includes('systemctl start census-etl.service'));
  },
);

test(
  'PostgreSQL: a secret without a usable password stops the boot, saying so, showing none of it',
  { skip },
  async () => {
    const secretArn = createSecret('rds!db-broken', '{"username": "census", "passwd": "hunter2"}');
    const b = await boot('no-password', { secretArn });
    assert.equal(b.ended, 'powered off');
    assert.equal(b.doc.state, 'failed');
    assert.match(
      b.doc.why!,
      /^reading the database password from Secrets Manager \(arn:aws:secretsmanager:\S+\) failed$/,
    );
    assert.match(b.log, /the secret holds no password of printable ASCII \(not shown\)/);
    assert.ok(!b.log.includes('hunter2'));
    assert.ok(!b.calls.includes('systemctl start census-etl.service'), 'the loader never started');
  },
);
