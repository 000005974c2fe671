/**
 * A throwaway PostgreSQL cluster for tests: its own data directory, a free loopback port,
 * scram-sha-256 over TCP (a wrong password really fails), optionally TLS with a CA of its own.
 * Without the PostgreSQL binaries a test skips visibly; under CI=true it fails instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../twin/moto.ts';
import { tempDir } from './fixtures.ts';

const PG_ROOT = '/usr/lib/postgresql';
/** The newest installed PostgreSQL's bin folder (Debian's layout), or null. */
export function postgresBin(): string | null {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)) : [];
  const bins = versions.sort((a, b) => Number(b) - Number(a)).map((v) => path.join(PG_ROOT, v, 'bin'));
  return bins.find((bin) => existsSync(path.join(bin, 'initdb'))) ?? null;
}

/** For `test(name, { skip: skipUnlessPostgres() }, ...)`: false when present, else why. */
export function skipUnlessPostgres(): string | false {
  if (postgresBin()) return false;
  const why = `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb)`;
  if (process.env.CI === 'true') throw new Error(`${why} (CI=true: .ci/run must install it)`);
  return why;
}

export type PostgresOptions = {
  /** Serve TLS with a certificate for these host names and IPs, signed by the cluster's own CA. */
  tlsHosts?: string[];
  /** Refuse connections without TLS over TCP (hostssl only), as RDS's rds.force_ssl = 1 does. */
  tlsOnly?: boolean;
  /** More postgresql.conf settings, e.g. { max_connections: '6' }. */
  settings?: Record<string, string>;
};

export type TestPostgres = {
  host: string;
  port: number;
  /** The folder of the data directory, the socket and the certificates. */
  dir: string;
  /** The CA that signed the server's certificate (null without TLS). */
  caFile: string | null;
  superuserPassword: string;
  /** A TCP URL, as the superuser on database postgres unless told otherwise. */
  url: (as?: { user?: string; password?: string; database?: string; params?: string }) => string;
  superuserUrl: string;
  /** Runs SQL as the superuser over the unix socket (trusted); returns psql's unaligned output. */
  sql: (statement: string, database?: string) => string;
  createDatabase: (name: string, owner?: string) => void;
  /** A login role without superuser, createdb or createrole, with CONNECT on `database`. */
  createRole: (name: string, password: string, database?: string) => void;
  /** SIGKILLs the postmaster and its backends (an outage); stop() still cleans up. */
  kill: () => void;
  stop: () => void;
};

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA in `dir` (ca.crt, ca.key); returns the certificate's path. */
export function makeCertificateAuthority(dir: string, name = 'census-etl test CA'): string {
  const [key, crt] = [path.join(dir, 'ca.key'), path.join(dir, 'ca.crt')];
  openssl(['req', '-x509', ...EC_KEY, '-days', '2', '-keyout', key, '-out', crt, '-subj', `/CN=${name}`]);
  return crt;
}

/** server.crt and server.key in `dir`, for `hosts` (names or IPs), signed by the CA in `dir`. */
function makeServerCertificate(dir: string, hosts: string[]): void {
  const file = (name: string) => path.join(dir, name);
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(file('server.ext'), `basicConstraints=CA:FALSE\nsubjectAltName=${san}\n`);
  const request = ['-keyout', file('server.key'), '-out', file('server.csr'), '-subj', `/CN=${hosts[0]}`];
  openssl(['req', '-new', ...EC_KEY, ...request]);
  const ca = ['-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-extfile', file('server.ext')];
  openssl(['x509', '-req', '-in', file('server.csr'), ...ca, '-days', '2', '-out', file('server.crt')]);
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error(skipUnlessPostgres() || 'no PostgreSQL');
  const dir = tempDir('census-etl-pg-');
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // initdb and the server refuse to run as root: they run as the postgres user, who owns dir.
  const asOwner = (cmd: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]]
      : [path.join(bin, cmd), args];
  const port = await freePort();
  const superuserPassword = `super-${Math.random().toString(36).slice(2)}`;
  const tls = options.tlsHosts?.length ? options.tlsHosts : null;
  if (tls) {
    makeCertificateAuthority(dir);
    makeServerCertificate(dir, tls);
  }
  writeFileSync(path.join(dir, 'pwfile'), superuserPassword);
  if (asRoot) spawnSync('chown', ['-R', 'postgres:', dir]);
  const auth = ['--auth-local=trust', '--auth-host=scram-sha-256', '--pwfile', path.join(dir, 'pwfile')];
  execFileSync(...asOwner('initdb', ['-D', data, '-U', 'postgres', '--no-sync', ...auth]), { stdio: 'pipe' });
  const tcp = options.tlsOnly ? 'hostssl' : 'host';
  const hba = [
    'local all all trust',
    ...['127.0.0.1/32', '::1/128'].map((a) => `${tcp} all all ${a} scram-sha-256`),
  ];
  writeFileSync(path.join(data, 'pg_hba.conf'), hba.join('\n') + '\n');
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: literal(dir),
    ...(tls && {
      ssl: 'on',
      ssl_cert_file: literal(`${dir}/server.crt`),
      ssl_key_file: literal(`${dir}/server.key`),
    }),
    ...options.settings,
  };
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`);
  writeFileSync(path.join(data, 'postgresql.conf'), conf.join(''), { flag: 'a' });
  if (asRoot) spawnSync('chown', ['-R', 'postgres:', dir]);
  const log = path.join(dir, 'server.log');
  execFileSync(...asOwner('pg_ctl', ['-D', data, '-l', log, '-w', 'start']), { stdio: 'pipe' });

  const postmasterPid = () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const psql = [path.join(bin, 'psql'), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'];
  const socket = ['-h', dir, '-p', String(port), '-U', 'postgres'];
  const sql = (statement: string, database = 'postgres') =>
    execFileSync(psql[0], [...psql.slice(1), ...socket, '-d', database, '-c', statement], {
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  const url: TestPostgres['url'] = (as = {}) => {
    const user = encodeURIComponent(as.user ?? 'postgres');
    const password = encodeURIComponent(as.password ?? superuserPassword);
    const query = as.params ?? (tls ? `sslmode=verify-ca&sslrootcert=${dir}/ca.crt` : 'sslmode=disable');
    return `postgres://${user}:${password}@127.0.0.1:${port}/${as.database ?? 'postgres'}?${query}`;
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process
      .removeListener('exit', stop)
      .removeListener('SIGINT', stopAndDie)
      .removeListener('SIGTERM', stopAndDie);
    if (existsSync(path.join(data, 'postmaster.pid')))
      spawnSync(...asOwner('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']));
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process ends, or is interrupted (a timeout, ^C): the server must not outlive it.
  const stopAndDie = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal);
  };
  process.once('exit', stop).once('SIGINT', stopAndDie).once('SIGTERM', stopAndDie);
  return {
    host: '127.0.0.1',
    port,
    dir,
    caFile: tls ? path.join(dir, 'ca.crt') : null,
    superuserPassword,
    url,
    superuserUrl: url(),
    sql,
    createDatabase: (name, owner = 'postgres') =>
      void sql(`CREATE DATABASE ${ident(name)} OWNER ${ident(owner)}`),
    createRole: (name, password, database = 'postgres') => {
      sql(
        `CREATE ROLE ${ident(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${literal(password)}`,
      );
      sql(`GRANT CONNECT ON DATABASE ${ident(database)} TO ${ident(name)}`);
    },
    kill: () => {
      const pid = postmasterPid();
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
      for (const p of [pid, ...children.map(Number)]) process.kill(p, 'SIGKILL');
      rmSync(path.join(data, 'postmaster.pid'), { force: true });
    },
    stop,
  };
}
