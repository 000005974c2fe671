/** Connection settings read as libpq reads them, TLS per sslmode, and no password in what is shown. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { PeerCertificate, ConnectionOptions } from 'node:tls';
import {
  DEFAULT_CONNECT_TIMEOUT_S,
  postgresSettings,
  PostgresSettingsError,
  scrub,
  SSL_MODES,
} from '../../../../runner/store/postgres/settings.ts';
import { tempDir } from '../../../support/fixtures.ts';

/** An environment with no PG* variables and a home without ~/.pgpass. */
const bare = (env: NodeJS.ProcessEnv = {}) => ({ HOME: tempDir(), ...env });
const settings = (url: string, env: NodeJS.ProcessEnv = {}) => postgresSettings(url, bare(env));
const tlsOf = (url: string, env: NodeJS.ProcessEnv = {}) =>
  settings(url, env).client.ssl as ConnectionOptions;
const refused = (url: string, env: NodeJS.ProcessEnv, names: RegExp) =>
  assert.throws(
    () => settings(url, env),
    (e: Error) => e instanceof PostgresSettingsError && names.test(e.message),
  );

const pem = (text: string) => {
  const file = path.join(tempDir(), 'root.crt');
  writeFileSync(file, text);
  return file;
};
/** What tls.checkServerIdentity reads of a certificate made out to `name`. */
const certificateFor = (name: string) =>
  ({ subject: { CN: name }, subjectaltname: `DNS:${name}` }) as unknown as PeerCertificate;

test('the URL gives host, port, user, password, database and application name', () => {
  const s = settings('postgres://alice:s3cret@db.example:6543/census?application_name=nightly');
  const { host, port, user, password, database, application_name } = s.client;
  assert.deepEqual(
    { host, port, user, password, database, application_name },
    {
      host: 'db.example',
      port: 6543,
      user: 'alice',
      password: 's3cret',
      database: 'census',
      application_name: 'nightly',
    },
  );
  assert.equal(s.display, 'postgres://alice@db.example:6543/census?sslmode=prefer');
  assert.equal(settings('postgresql://alice@db.example/census').client.host, 'db.example');
});

test('query parameters override the parts of the URL before them, as in libpq', () => {
  const { client } = settings('postgres://a:x@h1:1/d1?host=h2&port=2&user=b&password=y&dbname=d2');
  assert.deepEqual(
    [client.host, client.port, client.user, client.password, client.database],
    ['h2', 2, 'b', 'y', 'd2'],
  );
});

test('PG* variables fill in what the URL leaves out, and the URL wins where both say', () => {
  const env = {
    PGHOST: 'envhost',
    PGPORT: '7000',
    PGUSER: 'envuser',
    PGPASSWORD: 'envpass',
    PGDATABASE: 'envdb',
    PGSSLMODE: 'disable',
    PGAPPNAME: 'envapp',
    PGCONNECT_TIMEOUT: '7',
  };
  const fromEnv = settings('postgres://', env);
  const { host, port, user, password, database, application_name, connectionTimeoutMillis } = fromEnv.client;
  assert.deepEqual(
    [host, port, user, password, database, application_name, connectionTimeoutMillis, fromEnv.sslmode],
    ['envhost', 7000, 'envuser', 'envpass', 'envdb', 'envapp', 7000, 'disable'],
  );
  const both = settings('postgres://u:p@h:1/d?sslmode=require&application_name=a&connect_timeout=3', env);
  const c = both.client;
  assert.deepEqual(
    [
      c.host,
      c.port,
      c.user,
      c.password,
      c.database,
      c.application_name,
      c.connectionTimeoutMillis,
      both.sslmode,
    ],
    ['h', 1, 'u', 'p', 'd', 'a', 3000, 'require'],
  );
});

test('without URL parts or variables: libpq defaults, and a finite connect timeout', () => {
  const s = settings('postgres://');
  const user = os.userInfo().username;
  const { host, port, database, application_name, connectionTimeoutMillis } = s.client;
  assert.deepEqual(
    [host, port, s.client.user, database, application_name, connectionTimeoutMillis, s.sslmode],
    ['localhost', 5432, user, user, 'census-etl', DEFAULT_CONNECT_TIMEOUT_S * 1000, 'prefer'],
  );
});

test('connect_timeout is read as libpq reads it: 0 or less waits forever, 1 means 2 seconds', () => {
  const timeout = (t: string) =>
    settings(`postgres://h/d?connect_timeout=${t}`).client.connectionTimeoutMillis;
  assert.deepEqual(['0', '-3', '1', '5'].map(timeout), [0, 0, 2000, 5000]);
});

test('the display names the root certificates file, readable, so that messages about trust can', () => {
  const dir = path.join(tempDir(), 'rds certs');
  mkdirSync(dir);
  const root = path.join(dir, 'global-bundle.pem');
  writeFileSync(root, 'x');
  const s = settings(`postgres://u@h/d?sslmode=verify-full&sslrootcert=${encodeURIComponent(root)}`);
  assert.equal(
    s.display,
    `postgres://u@h:5432/d?sslmode=verify-full&sslrootcert=${root.replace(' ', '%20')}`,
  );
});

test('sslmode disable: no TLS, and nothing to fall back to', () => {
  const s = settings('postgres://h/d?sslmode=disable');
  assert.equal(s.client.ssl, false);
  assert.equal(s.withoutTls, null);
});

test('verify-full checks the host name against the certificate; verify-ca and require do not', () => {
  const root = pem('-----BEGIN CERTIFICATE-----\n…\n');
  const check = (mode: string, name: string) =>
    tlsOf(`postgres://db.example/d?sslmode=${mode}&sslrootcert=${root}`).checkServerIdentity!(
      'ignored',
      certificateFor(name),
    );
  assert.equal(check('verify-full', 'db.example'), undefined);
  assert.match(String(check('verify-full', 'other.example')), /db\.example/);
  assert.equal(check('verify-ca', 'other.example'), undefined);
  assert.equal(check('require', 'other.example'), undefined);
  assert.equal(
    tlsOf(`postgres://db.example/d?sslmode=verify-ca&sslrootcert=${root}`).ca,
    readFileSync(root, 'utf8'),
  );
});

test('prefer, allow or no sslmode: TLS checked in full, or no TLS for a server that has none', () => {
  for (const query of ['sslmode=prefer', 'sslmode=allow', '']) {
    const s = settings(`postgres://db.example/d?${query}`);
    const tls = s.client.ssl as ConnectionOptions;
    assert.ok(tls.checkServerIdentity!('x', certificateFor('elsewhere.example')) instanceof Error, query);
    assert.equal(tls.ca, undefined, `${query}: Node's default CAs`);
    assert.deepEqual(s.withoutTls, { ...s.client, ssl: false });
  }
  for (const mode of ['require', 'verify-ca', 'verify-full'])
    assert.equal(settings(`postgres://h/d?sslmode=${mode}&sslrootcert=${pem('x')}`).withoutTls, null, mode);
});

test('sslrootcert=system means Node’s default CAs, with verify-full, as libpq 16 insists', () => {
  const s = settings('postgres://h/d?sslrootcert=system');
  assert.equal(s.sslmode, 'verify-full');
  assert.equal((s.client.ssl as ConnectionOptions).ca, undefined);
  refused('postgres://h/d?sslmode=require&sslrootcert=system', {}, /sslmode require with sslrootcert=system/);
  refused('postgres://h/d?sslmode=verify-ca', {}, /verify-ca needs sslrootcert/);
});

test('a client certificate is read from sslcert and sslkey, which go together', () => {
  const [cert, key] = [pem('CERT'), pem('KEY')];
  const tls = tlsOf(`postgres://h/d?sslcert=${cert}`, { PGSSLKEY: key });
  assert.deepEqual([tls.cert, tls.key], ['CERT', 'KEY']);
  refused(`postgres://h/d?sslcert=${cert}`, {}, /sslcert and sslkey/);
});

test('no setting anywhere turns certificate verification off', () => {
  for (const mode of SSL_MODES.filter((m) => m !== 'disable')) {
    const tls = tlsOf(`postgres://h/d?sslmode=${mode}&sslrootcert=${pem('x')}`);
    assert.notEqual(tls.rejectUnauthorized, false, mode);
  }
  const dir = path.resolve(import.meta.dirname, '../../../../runner/store/postgres');
  for (const file of readdirSync(dir))
    assert.doesNotMatch(readFileSync(path.join(dir, file), 'utf8'), /rejectUnauthorized/, file);
});

test('a unix socket has no TLS, whatever sslmode says (libpq ignores it there)', () => {
  const s = settings('postgres://u@%2Fvar%2Frun%2Fpostgresql:5433/d?sslmode=verify-full');
  assert.equal(s.client.host, '/var/run/postgresql');
  assert.equal(s.client.ssl, false);
  assert.equal(s.display, 'postgres://u@%2Fvar%2Frun%2Fpostgresql:5433/d?sslmode=verify-full');
  assert.equal(settings('postgres://u@[::1]:5433/d').display, 'postgres://u@[::1]:5433/d?sslmode=prefer');
});

test('a bad setting is named, with where it came from, and the password is not', () => {
  const url = (query: string) => `postgres://u:hunter2@h/d?${query}`;
  const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
    [url(''), { PGSSLMODE: 'verify' }, /sslmode "verify" \(from PGSSLMODE\)/],
    [url('port=abc'), {}, /port "abc" \(from the database URL\)/],
    [url('connect_timeout=soon'), {}, /connect_timeout "soon"/],
    [url('sslmodee=disable'), {}, /parameter "sslmodee" is not supported/],
    [
      url('sslrootcert=/no/such/ca.pem'),
      {},
      /sslrootcert \/no\/such\/ca\.pem \(from the database URL\).*ENOENT/,
    ],
    ['postgres://u:hunter2@h1,h2/d', {}, /several hosts/],
    ['postgres://u:hunter%zz@h/d', {}, /password has a malformed %-escape/],
    ['mysql://u:hunter2@h/d', {}, /not a URL of the form postgres:\/\//],
  ];
  for (const [bad, env, names] of cases) {
    assert.throws(
      () => settings(bad, env),
      (e: Error) =>
        e instanceof PostgresSettingsError && names.test(e.message) && !e.message.includes('hunter'),
      bad,
    );
  }
});

test('a password with @, : and / percent-encoded: decoded, never displayed, listed as secret', () => {
  const password = 'p@ss:w/rd';
  const encoded = encodeURIComponent(password);
  const s = settings(`postgres://loader:${encoded}@h:5432/census?sslmode=disable`);
  assert.equal(s.client.password, password);
  assert.equal(s.display, 'postgres://loader@h:5432/census?sslmode=disable');
  assert.deepEqual(s.secrets, [encoded, password]);
  assert.equal(scrub(`auth ${password} / ${encoded} failed`, s.secrets), 'auth *** / *** failed');

  const inQuery = settings('postgres://h/d?password=a%2Fb%40c&sslmode=disable');
  assert.equal(inQuery.client.password, 'a/b@c');
  assert.doesNotMatch(inQuery.display, /password|a%2Fb|a\/b/);
  assert.ok(inQuery.secrets.includes('a%2Fb%40c') && inQuery.secrets.includes('a/b@c'));
});

test('~/.pgpass (or PGPASSFILE, or passfile) gives the password when URL and PGPASSWORD do not', () => {
  const home = tempDir();
  const file = path.join(home, '.pgpass');
  const lines = ['# comment', 'other:*:*:*:wrong', 'h:5432:census:loader:from\\:pgpass', '*:*:*:*:fallback'];
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  const password = (url: string, env: NodeJS.ProcessEnv = {}) =>
    postgresSettings(url, { HOME: home, ...env });
  assert.equal(password('postgres://loader@h/census').client.password, 'from:pgpass');
  assert.deepEqual(password('postgres://loader@h/census').secrets, ['from%3Apgpass', 'from:pgpass']);
  assert.equal(password('postgres://someone@h/census').client.password, 'fallback');
  assert.equal(password('postgres://loader:url@h/census').client.password, 'url');
  assert.equal(password('postgres://loader@h/census', { PGPASSWORD: 'env' }).client.password, 'env');
  const elsewhere = path.join(tempDir(), 'pass');
  writeFileSync(elsewhere, '*:*:*:*:moved\n', { mode: 0o600 });
  assert.equal(settings('postgres://u@h/d', { PGPASSFILE: elsewhere }).client.password, 'moved');
  assert.equal(settings(`postgres://u@h/d?passfile=${elsewhere}`).client.password, 'moved');
  chmodSync(file, 0o644);
  assert.equal(
    typeof password('postgres://loader@h/census').client.password,
    'function',
    'readable by others',
  );
});

test('no password anywhere: asked for, the client fails naming where to put one', async () => {
  const { password } = settings('postgres://u@h/d').client;
  assert.equal(typeof password, 'function');
  await assert.rejects(async () => (password as () => Promise<string>)(), /none is set: put it in the URL/);
  assert.deepEqual(settings('postgres://u@h/d').secrets, []);
});
