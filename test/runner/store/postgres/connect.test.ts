/**
 * Real connections to throwaway clusters, with the settings of settings.ts: each TLS mode, and
 * each failure a person must act on, explained naming the database and never its password.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { freePort } from '../../../../twin/moto.ts';
import { explainPostgresError, serverRefusedTls } from '../../../../runner/store/postgres/errors.ts';
import { postgresSettings, type PostgresSettings } from '../../../../runner/store/postgres/settings.ts';
import { tempDir } from '../../../support/fixtures.ts';
import {
  makeCertificateAuthority,
  skipUnlessPostgres,
  startPostgres,
  type TestPostgres,
} from '../../../support/postgres.ts';
import { smallFilesystem } from '../../../support/tmpfs.ts';

const skip = skipUnlessPostgres();
/** No TLS; two connection slots for roles other than the superuser. */
let plain: TestPostgres;
/** TLS only (as RDS), with a certificate for localhost alone. */
let tlsOnly: TestPostgres;
const LOADER_PASSWORD = 'p@ss:w/rd %40';

before(async () => {
  if (skip) return;
  [plain, tlsOnly] = await Promise.all([
    startPostgres({ settings: { max_connections: '5' } }),
    startPostgres({ tlsHosts: ['localhost'], tlsOnly: true }),
  ]);
  plain.createDatabase('census');
  plain.createRole('loader', LOADER_PASSWORD, 'census');
});
after(() => {
  plain?.stop();
  tlsOnly?.stop();
});

const settingsOf = (url: string) => postgresSettings(url, { HOME: tempDir() });

/** Connects as the store will: without TLS only when the server said it has none and sslmode allows. */
async function connect(settings: PostgresSettings): Promise<pg.Client> {
  const open = async (config: pg.ClientConfig) => {
    const client = new pg.Client(config);
    client.on('error', () => undefined);
    return client.connect();
  };
  try {
    return await open(settings.client);
  } catch (e) {
    if (settings.withoutTls && serverRefusedTls(e)) return open(settings.withoutTls);
    throw e;
  }
}

/** The explanation of `error`, which names the database and none of its secrets. */
function explained(error: unknown, settings: PostgresSettings, password: string) {
  const problem = explainPostgresError(error, settings.display);
  assert.ok(problem.message.includes(settings.display), problem.message);
  for (const secret of [password, ...settings.secrets].filter(Boolean))
    assert.ok(!problem.message.includes(secret), secret);
  return { ...problem, code: (error as { code?: string }).code };
}

/** Connecting with `url` fails: the error's code and its explanation. */
async function failure(url: string, password = '') {
  const settings = settingsOf(url);
  const client = await connect(settings).catch((e: unknown) => e);
  if (client instanceof pg.Client) {
    await client.end();
    assert.fail(`connected to ${settings.display}`);
  }
  return explained(client, settings, password);
}

const usesTls = async (client: pg.Client) =>
  (await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl as boolean;

test('a role whose password has @, : and / connects with it percent-encoded', { skip }, async () => {
  const client = await connect(
    settingsOf(plain.url({ user: 'loader', password: LOADER_PASSWORD, database: 'census' })),
  );
  assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, 'loader');
  await client.end();
});

test('nobody listening: unreachable, retryable', { skip }, async () => {
  const p = await failure(
    `postgres://u:secret-1@127.0.0.1:${await freePort()}/d?sslmode=disable`,
    'secret-1',
  );
  assert.deepEqual([p.code, p.retryable], ['ECONNREFUSED', true]);
  assert.match(
    p.message,
    /^cannot reach postgres:\/\/u@127\.0\.0\.1:\d+\/d\?sslmode=disable .*host and port/,
  );
});

test(
  'a server that accepts and never answers: connect_timeout, then unreachable, retryable',
  { skip },
  async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const started = Date.now();
    const url = `postgres://u:pw@127.0.0.1:${port}/d?connect_timeout=2&sslmode=disable`;
    const p = await failure(url).finally(() => {
      sockets.forEach((s) => s.destroy());
      silent.close();
    });
    assert.ok(Date.now() - started >= 1900, 'waited for the timeout');
    assert.equal(p.retryable, true);
    assert.match(p.message, /cannot reach .*timeout expired/);
  },
);

test('a wrong password: permanent, and the password is nowhere in the message', { skip }, async () => {
  const wrong = 'Wr0ng@pass:word';
  const p = await failure(plain.url({ user: 'loader', password: wrong, database: 'census' }), wrong);
  assert.deepEqual([p.code, p.retryable], ['28P01', false]);
  assert.match(p.message, /wrong password or no such user/);
});

test('a missing database: permanent, named', { skip }, async () => {
  const p = await failure(plain.url({ database: 'no_such_db' }), plain.superuserPassword);
  assert.deepEqual([p.code, p.retryable], ['3D000', false]);
  assert.match(p.message, /\/no_such_db\?.*the database does not exist/);
});

test('a role without CREATE on the schema: permission denied, permanent', { skip }, async () => {
  const settings = settingsOf(plain.url({ user: 'loader', password: LOADER_PASSWORD, database: 'census' }));
  const client = await connect(settings);
  const error = await client.query('CREATE TABLE adult (age integer)').catch((e: unknown) => e);
  await client.end();
  const p = explained(error, settings, LOADER_PASSWORD);
  assert.deepEqual([p.code, p.retryable], ['42501', false]);
  assert.match(p.message, /permission denied .*needs CREATE/);
});

test('all connection slots taken: too many connections, retryable', { skip }, async () => {
  const url = plain.url({ user: 'loader', password: LOADER_PASSWORD, database: 'census' });
  // max_connections 5, of which 3 are the superuser's.
  const held = [await connect(settingsOf(url)), await connect(settingsOf(url))];
  const p = await failure(url, LOADER_PASSWORD);
  await Promise.all(held.map((c) => c.end()));
  assert.deepEqual([p.code, p.retryable], ['53300', true]);
  assert.match(p.message, /too many connections/);
});

test('the backend terminated mid-statement: connection lost, retryable', { skip }, async () => {
  const settings = settingsOf(plain.superuserUrl);
  const client = await connect(settings);
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const sleeping = client.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
  await new Promise((resolve) => setTimeout(resolve, 200));
  plain.sql(`SELECT pg_terminate_backend(${pid})`);
  const p = explained(await sleeping, settings, plain.superuserPassword);
  assert.deepEqual([p.code, p.retryable], ['57P01', true]);
  assert.match(p.message, /the connection was lost/);
});

test('a full disk: 53100, retryable (the batch rolled back)', { skip }, async (t) => {
  const small = smallFilesystem(t, 1024 * 1024);
  if (!small) return;
  try {
    spawnSync('chown', ['postgres:', small.dir]);
    plain.sql(`CREATE TABLESPACE small LOCATION '${small.dir}'`);
    const settings = settingsOf(plain.superuserUrl);
    const client = await connect(settings);
    await client.query('CREATE TABLE filler (x text) TABLESPACE small');
    const fill =
      'INSERT INTO filler SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 1e5)';
    const error = await client.query(fill).catch((e: unknown) => e);
    await client.query('DROP TABLE filler');
    await client.end();
    const p = explained(error, settings, plain.superuserPassword);
    assert.deepEqual([p.code, p.retryable], ['53100', true]);
    assert.match(p.message, /disk is full/);
  } finally {
    plain.sql('DROP TABLESPACE IF EXISTS small');
    small.unmount();
  }
});

test(
  'a server without TLS: prefer goes on without it; verify-full refuses, permanent',
  { skip },
  async () => {
    const client = await connect(settingsOf(plain.url({ params: 'sslmode=prefer' })));
    assert.equal(await usesTls(client), false);
    await client.end();
    const ca = makeCertificateAuthority(tempDir());
    const p = await failure(
      plain.url({ params: `sslmode=verify-full&sslrootcert=${ca}` }),
      plain.superuserPassword,
    );
    assert.equal(p.retryable, false);
    assert.match(p.message, /does not offer TLS, which sslmode verify-full requires/);
  },
);

test(
  'TLS required by the server, and disabled by the client: permanent, says to use TLS',
  { skip },
  async () => {
    const p = await failure(tlsOnly.url({ params: 'sslmode=disable' }), tlsOnly.superuserPassword);
    assert.deepEqual([p.code, p.retryable], ['28000', false]);
    assert.match(p.message, /requires TLS .*sslmode=verify-full with sslrootcert/);
  },
);

test(
  'verify-ca trusts the CA whatever the host; verify-full wants the certificate’s host name',
  { skip },
  async () => {
    const root = `sslrootcert=${tlsOnly.caFile}`;
    const byCa = await connect(settingsOf(tlsOnly.url({ params: `sslmode=verify-ca&${root}` })));
    assert.equal(await usesTls(byCa), true);
    await byCa.end();
    const byName = tlsOnly.url({ params: `sslmode=verify-full&${root}` }).replace('127.0.0.1', 'localhost');
    const full = await connect(settingsOf(byName));
    assert.equal(await usesTls(full), true);
    await full.end();

    const p = await failure(
      tlsOnly.url({ params: `sslmode=verify-full&${root}` }),
      tlsOnly.superuserPassword,
    );
    assert.deepEqual([p.code, p.retryable], ['ERR_TLS_CERT_ALTNAME_INVALID', false]);
    assert.match(p.message, /certificate is not for this host .*127\.0\.0\.1/);
  },
);

test(
  'a certificate from a CA not trusted: permanent, naming the roots used, never falling back',
  { skip },
  async () => {
    const other = makeCertificateAuthority(tempDir(), 'another CA');
    const p = await failure(tlsOnly.url({ params: `sslmode=verify-ca&sslrootcert=${other}` }));
    assert.deepEqual([p.code, p.retryable], ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', false]);
    assert.ok(p.message.includes(`not signed by a CA of sslrootcert ${other}`), p.message);
    // prefer with Node's CAs: the failed check is not a refusal, so no plain retry (which the
    // server would refuse with 28000).
    const preferred = await failure(
      tlsOnly.url({ params: 'sslmode=prefer' }).replace('127.0.0.1', 'localhost'),
    );
    assert.equal(preferred.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(preferred.message, /Node's default CAs/);
  },
);
