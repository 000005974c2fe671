/** The throwaway cluster the PostgreSQL tests use: what it promises, and its outage and cleanup. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { explainPostgresError } from '../../../../runner/store/postgres/errors.ts';
import { postgresSettings } from '../../../../runner/store/postgres/settings.ts';
import { tempDir } from '../../../support/fixtures.ts';
import { skipUnlessPostgres, startPostgres } from '../../../support/postgres.ts';

const skip = skipUnlessPostgres();

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client(postgresSettings(url, { HOME: tempDir() }).client);
  client.on('error', () => undefined);
  return client.connect();
}
/** Whether `pid` exits (or is left a zombie) within two seconds: SIGKILL is not instantaneous. */
async function exits(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 2000; waited += 50) {
    if (!existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')))
      return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
const failure = (url: string) =>
  connect(url).then(
    (c) => c.end().then(() => assert.fail('connected')),
    (e: Error & { code?: string }) => e,
  );

test(
  'a cluster: superuser over TCP with a password, roles and databases made to order',
  { skip },
  async () => {
    const cluster = await startPostgres();
    try {
      const admin = await connect(cluster.superuserUrl);
      assert.equal(
        (await admin.query('SELECT current_setting($1) AS v', ['port'])).rows[0].v,
        String(cluster.port),
      );
      await admin.end();
      assert.equal(
        (await failure(cluster.url({ password: 'not-it' }))).code,
        '28P01',
        'scram-sha-256 over TCP',
      );

      cluster.createDatabase('census');
      cluster.createRole('loader', 'loader-pw', 'census');
      const loader = await connect(
        cluster.url({ user: 'loader', password: 'loader-pw', database: 'census' }),
      );
      const me = (
        await loader.query(
          'SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
        )
      ).rows[0];
      assert.deepEqual(me, { rolsuper: false, rolcreatedb: false, rolcreaterole: false });
      await loader.end();
      assert.equal(cluster.sql("SELECT datname FROM pg_database WHERE datname = 'census'"), 'census');
    } finally {
      cluster.stop();
    }
  },
);

test(
  'TLS for the hosts asked, signed by the cluster’s CA; tlsOnly refuses plain connections',
  { skip },
  async () => {
    const open = await startPostgres({ tlsHosts: ['localhost', '127.0.0.1'] });
    const only = await startPostgres({ tlsHosts: ['localhost'], tlsOnly: true });
    try {
      const full = (c: typeof open) => c.url({ params: `sslmode=verify-full&sslrootcert=${c.caFile}` });
      const client = await connect(full(open));
      assert.equal(
        (await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl,
        true,
      );
      await client.end();
      await (await connect(open.url({ params: 'sslmode=disable' }))).end();

      await (await connect(full(only).replace('127.0.0.1', 'localhost'))).end();
      assert.equal(
        (await failure(full(only))).code,
        'ERR_TLS_CERT_ALTNAME_INVALID',
        'no certificate for 127.0.0.1',
      );
      assert.equal((await failure(only.url({ params: 'sslmode=disable' }))).code, '28000');
    } finally {
      open.stop();
      only.stop();
    }
  },
);

test(
  'kill() is an outage: clients lose their connection, new ones are refused (retryable)',
  { skip },
  async () => {
    const cluster = await startPostgres();
    try {
      const client = await connect(cluster.superuserUrl);
      const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      cluster.kill();
      const lost = await client.query('SELECT 1').catch((e: Error) => e);
      assert.ok(lost instanceof Error);
      assert.equal(explainPostgresError(lost, 'db').retryable, true, lost.message);
      assert.ok(await exits(pid), 'the backend is gone too');
      const refused = await failure(cluster.superuserUrl);
      assert.equal(refused.code, 'ECONNREFUSED');
      assert.equal(explainPostgresError(refused, 'db').retryable, true);
    } finally {
      cluster.stop();
    }
    assert.equal(existsSync(cluster.dir), false);
  },
);

test('stop() shuts the server and removes its folder', { skip }, async () => {
  const cluster = await startPostgres({ tlsHosts: ['localhost'] });
  assert.ok(existsSync(cluster.caFile!));
  cluster.stop();
  assert.equal(existsSync(cluster.dir), false);
  assert.equal((await failure(cluster.url({ params: 'sslmode=disable' }))).code, 'ECONNREFUSED');
});

test('a test process interrupted (SIGTERM, SIGINT) takes its cluster with it', { skip }, async () => {
  const helper = new URL('../../../support/postgres.ts', import.meta.url).href;
  // Starts a cluster, says where, and waits to be stopped.
  const script =
    `const cluster = await (await import('${helper}')).startPostgres();` +
    'console.log(cluster.dir); setInterval(() => {}, 1000);';
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    const [dir] = (await once(child.stdout, 'data')).map((d: Buffer) => d.toString().trim());
    const pid = Number(readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
    child.kill(signal);
    const [, signalled] = await once(child, 'exit');
    assert.equal(signalled, signal, 'the process still dies of the signal');
    assert.equal(existsSync(dir), false);
    assert.ok(await exits(pid), 'the server stopped');
  }
});
