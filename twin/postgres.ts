/**
 * The twin's RDS data plane. moto emulates RDS's API only: an endpoint name, "available" at once,
 * a managed secret. Behind that endpoint the twin puts a real PostgreSQL, as strict as RDS for
 * PostgreSQL 15 and later (rds.force_ssl = 1): TLS only (hostssl), with a certificate for the
 * endpoint's host name signed by the twin's own CA, which stands in for the RDS CA bundle; and
 * scram-sha-256 for exactly the role the secret names, with its password, not a superuser, owning
 * the database. The twin reaches it from the instance's namespace (instance.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './moto.ts';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed PostgreSQL's bin folder (Debian's layout), or null. */
export function postgresBin(): string | null {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)) : [];
  const bins = versions.sort((a, b) => Number(b) - Number(a)).map((v) => path.join(PG_ROOT, v, 'bin'));
  return bins.find((bin) => existsSync(path.join(bin, 'initdb'))) ?? null;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export type Ca = { cert: string; key: string };

/** A self-signed CA in `dir` (`name`.crt, `name`.key). */
export function makeCa(dir: string, name: string): Ca {
  mkdirSync(dir, { recursive: true });
  const ca = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const subject = ['-subj', `/CN=census-etl twin ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE'];
  openssl(['req', '-x509', ...EC_KEY, '-days', '3', '-keyout', ca.key, '-out', ca.cert, ...subject]);
  return ca;
}

/** A server certificate for `host` alone (server.crt, server.key in `dir`), signed by `ca`. */
function serverCertificate(dir: string, ca: Ca, host: string): { cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file('server.ext'), `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${host}\n`);
  // The name in the subject alternative name: a common name holds 64 characters at most, and
  // RDS's endpoint names can be longer.
  const request = [
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=census-etl twin database',
  ];
  openssl(['req', '-new', ...EC_KEY, ...request]);
  const signed = ['-CA', ca.cert, '-CAkey', ca.key, '-extfile', file('server.ext'), '-days', '3'];
  openssl(['x509', '-req', '-in', file('server.csr'), ...signed, '-out', file('server.crt')]);
  return { cert: file('server.crt'), key: file('server.key') };
}

export type DatabaseSpec = {
  /** The endpoint's host name, the one name the certificate is for. */
  host: string;
  /** The role and password the master user secret holds, and the database it owns. */
  user: string;
  password: string;
  database: string;
  /** The CA that signs the server's certificate. */
  ca: Ca;
};

export type TwinPostgres = {
  /** Where it listens on this machine (127.0.0.1). */
  serverPort: number;
  /** SQL as the cluster's superuser over its unix socket, unaligned tuples out. */
  sql: (statement: string, database?: string) => string;
  stop: () => void;
};

/**
 * Starts the database in a folder of its own under the system's temporary folder (the postgres
 * user, who runs it when this is root, must reach it), removed when it stops.
 */
export async function startTwinPostgres(spec: DatabaseSpec): Promise<TwinPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error(`no PostgreSQL under ${PG_ROOT}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'census-twin-rds-'));
  const data = path.join(dir, 'data');
  const tls = serverCertificate(dir, spec.ca, spec.host);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[], input?: string) =>
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      input,
      stdio: 'pipe',
      encoding: 'utf8',
    });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:', dir]);
  run(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--no-sync',
    '--auth-local=peer',
    '--auth-host=reject',
  ]);
  const serverPort = await freePort();
  // As RDS with rds.force_ssl = 1: no TCP connection without TLS; passwords, scram only.
  writeFileSync(
    path.join(data, 'pg_hba.conf'),
    ['local all postgres peer', 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  const conf = {
    port: String(serverPort),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    ssl: 'on',
    ssl_cert_file: `'${tls.cert}'`,
    ssl_key_file: `'${tls.key}'`,
    password_encryption: 'scram-sha-256',
  };
  const lines = Object.entries(conf).map(([k, v]) => `${k} = ${v}\n`);
  writeFileSync(path.join(data, 'postgresql.conf'), lines.join(''), { flag: 'a' });
  chmodSync(tls.key, 0o600);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:', dir]);
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  const psql = (database: string, script: string, vars: string[] = []) =>
    run(
      path.join(bin, 'psql'),
      [
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        ...vars,
        '-h',
        dir,
        '-p',
        String(serverPort),
        '-U',
        'postgres',
        '-d',
        database,
      ],
      script,
    ).trim();
  // The master user as RDS makes it: may create databases and roles, is no superuser, owns the
  // database. Its password passes as a psql variable, quoted by psql.
  psql(
    'postgres',
    [
      'CREATE ROLE :"user" LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD :\'password\';',
      'CREATE DATABASE :"database" OWNER :"user";',
    ].join('\n'),
    ['-v', `user=${spec.user}`, '-v', `password=${spec.password}`, '-v', `database=${spec.database}`],
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { serverPort, sql: (statement, database = spec.database) => psql(database, statement), stop };
}

/**
 * A password as RDS generates them for a managed master user: printable ASCII but / ' " @ and
 * space. This one holds the characters an EnvironmentFile or a shell would take for their own.
 */
export function rdsLikePassword(): string {
  const allowed = [...Array(94)]
    .map((_, i) => String.fromCharCode(33 + i))
    .filter((c) => !`/'"@`.includes(c));
  const random = Array.from({ length: 20 }, () => allowed[Math.floor(Math.random() * allowed.length)]);
  return `${random.join('')}$\`\\!#%&*`;
}

/** The database moto says it runs, and what its master user secret holds. */
export type ServedDatabase = { host: string; port: number; user: string; password: string; database: string };

/**
 * Plays RDS's part for the one database instance moto holds: a real PostgreSQL behind the
 * endpoint it reports, for the role and password its master user secret holds. moto's managed
 * secret always says admin / P@55w0rd!, whatever the master user: first the twin writes what
 * RDS would there, the master user's name and a generated password. `aws` runs the AWS CLI
 * (JSON out) with the rights of the account's administrator.
 */
export async function serveRdsDatabase(
  aws: (...args: string[]) => any,
  ca: Ca,
): Promise<{ spec: ServedDatabase; server: TwinPostgres }> {
  const [db] = aws('rds', 'describe-db-instances').DBInstances;
  const arn: string = db.MasterUserSecret.SecretArn;
  const written = JSON.stringify({ username: db.MasterUsername, password: rdsLikePassword() });
  aws('secretsmanager', 'put-secret-value', '--secret-id', arn, '--secret-string', written);
  const held = JSON.parse(aws('secretsmanager', 'get-secret-value', '--secret-id', arn).SecretString);
  const spec = {
    host: db.Endpoint.Address,
    port: db.Endpoint.Port,
    user: held.username,
    password: held.password,
    database: db.DBName,
  };
  return { spec, server: await startTwinPostgres({ ...spec, ca }) };
}
