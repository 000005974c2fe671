/**
 * The twin's instance is as bare as Amazon Linux 2023: a boot that tries to compile or to
 * download anything fails there exactly as it would on AWS; only the S3 endpoint answers, and
 * the database moto reports, when the twin serves one: by its name, TLS verified, the secret's
 * credentials only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { hostArchitecture } from '../../infra/architecture.ts';
import { startMoto, freePort, type Moto } from '../../twin/moto.ts';
import { bootInstance, type BootOutcome } from '../../twin/instance.ts';
import { userData } from '../../infra/userdata.ts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeCa, postgresBin, serveRdsDatabase } from '../../twin/postgres.ts';
import { tempDir } from '../support/fixtures.ts';
import { skipUnless, skipUnlessPresent } from '../support/tools.ts';

const skip = skipUnless('unshare') || skipUnless('ip') || skipUnless('moto_server') || skipUnless('aws');
let moto: Moto;

before(async () => {
  if (!skip) moto = await startMoto();
});
after(async () => moto?.stop());

/** Boots `userData`; with `s3`, moto is the one endpoint the instance can reach. */
const boot = (script: string, s3: boolean): Promise<BootOutcome> =>
  bootInstance({
    dir: tempDir('census-boot-'),
    userData: script,
    aws: { ...moto.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    s3Port: s3 ? moto.port : null,
    timeLimitMs: 120_000,
  });

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * A user-data that runs each command and prints `## <command>`, its output and `=> <status>`
 * (to the console, which the boot captures).
 */
const each = (...commands: string[]) => {
  const lines = commands.map((c) => `printf '## %s\\n' ${quote(c)}; (${c}) 2>&1; echo "=> $?"`);
  return ['#!/bin/bash', ...lines].join('\n');
};

const statusOf = (console: string, command: string) => {
  const at = console.indexOf(`## ${command}\n`);
  assert.notEqual(at, -1, `${command} ran:\n${console}`);
  return Number(/=> (\d+)/.exec(console.slice(at))![1]);
};

test('no compiler, make, node-gyp, nor Node before dnf: each attempt fails loudly', { skip }, async () => {
  const compilers = ['cc -o x x.c', 'gcc --version', 'g++ -O2 addon.cc', 'c++ -v', 'make -j2'];
  compilers.push('node-gyp rebuild');
  const commands = [...compilers, 'node --version', 'npm install', 'npx cdktf'];
  const r = await boot(each(...commands), false);
  for (const c of commands) {
    assert.equal(statusOf(r.console, c), 127, c);
    const said = `twin: \`${c}\` was attempted, but Amazon Linux 2023 has no`;
    assert.ok(r.console.includes(said), c);
    assert.ok(r.calls.includes(c), `${c} recorded`);
  }
  assert.match(r.console, /`make -j2` was attempted, but Amazon Linux 2023 has no compiler, make or/);
  assert.match(r.console, /`node --version` was attempted, but Amazon Linux 2023 has no node: dnf install/);
});

test("dnf knows AL2023's packages: nodejs24 is a real node-24; nodejs20 is refused", { skip }, async () => {
  const install = 'dnf install -y -q nodejs24 nodejs24-npm';
  const commands = ['dnf install -y nodejs20', 'node-24 --version', install, 'node-24 --version'];
  commands.push('npm-24 -v');
  const r = await boot(each(...commands), false);
  assert.equal(statusOf(r.console, 'dnf install -y nodejs20'), 1);
  assert.match(r.console, /No match for argument: nodejs20\nError: Unable to find a match: nodejs20/);
  assert.equal(statusOf(r.console, 'node-24 --version'), 127, 'nothing before dnf');
  assert.equal(statusOf(r.console, install), 0);
  const afterInstall = r.console.slice(r.console.lastIndexOf('## node-24 --version'));
  assert.match(afterInstall, /^## node-24 --version\nv24\.\d+\.\d+\n=> 0$/m);
  assert.equal(statusOf(r.console, 'npm-24 -v'), 0);
});

test('no route but to S3: npm, registry, GitHub, other local ports fail; S3 answers', { skip }, async () => {
  const port = await freePort();
  const other = createServer((_, res) => res.end('reachable'));
  await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
  const npmInstall = 'cd "$(mktemp -d)" && npm-24 install --fetch-retries=0 better-sqlite3@12.11.1';
  const registry = 'curl -sS -m 5 https://registry.npmjs.org/better-sqlite3';
  const downloads = [registry, 'node-24 -e "await fetch(\'https://github.com\')"'];
  const local = `curl -sS -m 5 http://127.0.0.1:${port}/`;
  const s3 = 'aws s3api list-buckets --query "Buckets[].Name"';
  try {
    const commands = ['dnf install -y -q nodejs24 nodejs24-npm', npmInstall, ...downloads, local, s3];
    const r = await boot(each(...commands), true);
    assert.notEqual(statusOf(r.console, npmInstall), 0);
    assert.match(r.console, /npm error code E(AI_AGAIN|NOTFOUND|NETUNREACH)/);
    for (const download of downloads) assert.notEqual(statusOf(r.console, download), 0, download);
    assert.notEqual(statusOf(r.console, local), 0, 'another local server is not reachable');
    assert.ok(!r.console.includes('reachable'));
    assert.equal(statusOf(r.console, s3), 0, 'S3 (moto) answers');
  } finally {
    other.close();
  }
});

const otherArch = 'the real user-data on another architecture: stops before installing, uploads its log';
test(`${otherArch}, powers off`, { skip }, async () => {
  const other = hostArchitecture() === 'x86_64' ? 'arm64' : 'x86_64';
  const input = {
    region: 'us-east-1',
    bucket: 'nowhere',
    release: 'x',
    timeLimitMinutes: 30,
    postgres: null,
  };
  const r = await boot(userData({ ...input, architecture: other }), true);
  assert.equal(r.ended, 'powered off');
  assert.deepEqual(r.calls, ['shutdown -h +30', 'shutdown -h now'], 'no dnf, nothing fetched');
  const addon = other === 'arm64' ? 'linux-arm64 \\(aarch64\\)' : 'linux-x64 \\(x86_64\\)';
  assert.match(r.log, new RegExp(`this release's native addon is ${addon}, but this machine is`));
  assert.match(
    r.log,
    /failed \(exit 1\): this release's .*; uploading this log and run\.json to s3:\/\/nowhere\/results\//,
  );
});

/** Who psql is, and over TLS or not. */
const WHO = 'SELECT current_user, ssl';

const noDatabase =
  skip ||
  skipUnless('openssl') ||
  skipUnless('psql') ||
  skipUnlessPresent(
    postgresBin() !== null,
    'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)',
  );

test(
  'the database moto reports: at its name and port, TLS verified, its secret only',
  { skip: noDatabase },
  async () => {
    const env = { ...process.env, ...moto.env };
    const aws = (...args: string[]) => {
      const endpoint = ['--endpoint-url', moto.endpoint]; // see twin.ts: AWS CLI v1 and RDS
      const r = spawnSync('aws', [...args, '--output', 'json', ...endpoint], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const create = ['rds', 'create-db-instance', '--db-instance-identifier', 'census-etl-endpoint'];
    create.push('--engine', 'postgres', '--engine-version', '18', '--db-instance-class', 'db.t4g.micro');
    create.push('--allocated-storage', '20', '--db-name', 'census', '--master-username', 'census');
    aws(...create, '--manage-master-user-password');
    const dir = tempDir('census-endpoint-');
    const ca = makeCa(path.join(dir, 'ca'), 'rds-stand-in');
    const other = makeCa(path.join(dir, 'other'), 'other');
    const { spec, server } = await serveRdsDatabase(aws, ca);
    try {
      assert.match(spec.host, /^census-etl-endpoint\.aaaaaaaaaa\.us-east-1\.rds\.amazonaws\.com$/);
      assert.deepEqual([spec.port, spec.user, spec.database], [5432, 'census', 'census']);
      const [db] = aws('rds', 'describe-db-instances').DBInstances;
      const secret = aws('secretsmanager', 'get-secret-value', '--secret-id', db.MasterUserSecret.SecretArn);
      assert.equal(JSON.parse(secret.SecretString).password, spec.password, 'the password the secret holds');
      const password = path.join(dir, 'password');
      writeFileSync(password, spec.password);
      const conninfo = (more: string) => `"host=${spec.host} port=5432 dbname=census user=census ${more}"`;
      const psql = (info: string, pass = `"$(cat ${password})"`) =>
        `PGPASSWORD=${pass} psql -X -A -t -c "${WHO} FROM pg_stat_ssl WHERE pid = pg_backend_pid()" ${info}`;
      const checks = {
        named: `getent hosts ${spec.host}`,
        verified: psql(conninfo(`sslmode=verify-full sslrootcert=${ca.cert}`)),
        otherCa: psql(conninfo(`sslmode=verify-full sslrootcert=${other.cert}`)),
        noTls: psql(conninfo('sslmode=disable')),
        wrongPassword: psql(conninfo(`sslmode=verify-full sslrootcert=${ca.cert}`), 'not-the-password'),
        byAddress: psql(
          `"host=127.0.0.1 port=5432 dbname=census user=census sslmode=verify-full sslrootcert=${ca.cert}"`,
        ),
        serverPort: psql(conninfo(`port=${server.serverPort} sslmode=verify-full sslrootcert=${ca.cert}`)),
      };
      const r = await bootInstance({
        dir: tempDir('census-boot-'),
        userData: each(...Object.values(checks)),
        aws: { ...moto.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
        s3Port: null,
        database: { host: spec.host, port: spec.port, serverPort: server.serverPort },
        timeLimitMs: 60_000,
      });
      const out = (c: string) => r.console.slice(r.console.indexOf(`## ${c}\n`)).split('\n=> ')[0];
      assert.equal(statusOf(r.console, checks.named), 0);
      assert.match(
        out(checks.named),
        new RegExp(`^127\\.0\\.0\\.1 +${spec.host.replaceAll('.', '\\.')}$`, 'm'),
      );
      assert.equal(statusOf(r.console, checks.verified), 0, out(checks.verified));
      assert.match(out(checks.verified), /^census\|t$/m, 'the master user, over TLS');
      const refused: [string, RegExp][] = [
        [checks.otherCa, /SSL error: certificate verify failed/],
        [
          checks.noTls,
          /no pg_hba\.conf entry for host "127\.0\.0\.1", user "census", database "census", no encryption/,
        ],
        [checks.wrongPassword, /password authentication failed for user "census"/],
        [
          checks.byAddress,
          /server certificate for "census-etl-endpoint\.\S+" (\(and \d other names?\) )?does not match/,
        ],
        [checks.serverPort, /Connection refused/],
      ];
      for (const [check, why] of refused) {
        assert.equal(statusOf(r.console, check), 2, check);
        assert.match(out(check), why);
      }
      assert.ok(!r.console.includes(spec.password), 'the password is never printed');
    } finally {
      server.stop();
    }
  },
);
