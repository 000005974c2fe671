/**
 * Connection settings for a postgres:// database, read as libpq reads them: the URL (its query
 * parameters over its other parts), then the PG* environment variables, then ~/.pgpass for the
 * password, then defaults. The node-postgres config is built here, field by field: given the URL,
 * pg 8 would read sslmode its own way (prefer, require and verify-ca all meaning verify-full, and
 * a URL's sslmode replacing the whole ssl object), and it reads PG* variables where a field is unset.
 */
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls, { type ConnectionOptions } from 'node:tls';
import type { ClientConfig } from 'pg';

/** A setting that cannot be used; the message names it and where it came from, never a secret. */
export class PostgresSettingsError extends Error {}

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export type PostgresSettings = {
  /** For `new pg.Client(client)`. */
  client: ClientConfig;
  /**
   * With sslmode prefer or allow (or none): the same without TLS, to connect with only when the
   * server answered that it does not support TLS (see serverRefusedTls). Otherwise null.
   */
  withoutTls: ClientConfig | null;
  sslmode: SslMode;
  /** For logs and messages: postgres://user@host:port/dbname?sslmode=…, never the password. */
  display: string;
  /** The password as given and as encoded or decoded, longest first: to scrub from any text. */
  secrets: string[];
};

/** libpq's names for what census-etl reads, each with its environment variable. */
const ENV = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  passfile: 'PGPASSFILE',
} as const;
type Key = keyof typeof ENV;
type Setting = { value: string; from: string };

/** libpq's default is to wait forever; a scheduled load should rather fail and retry. */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;

const URL_SHAPE = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;
const HOST_PORT = /^(?:\[([^\]]*)\]|([^:]*))(?::(.*))?$/;

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new PostgresSettingsError(`the database URL's ${what} has a malformed %-escape`);
  }
}

/** The URL's settings; its query parameters override the parts before them, as in libpq. */
function fromUrl(url: string): { settings: Partial<Record<Key, Setting>>; rawSecrets: string[] } {
  const m = URL_SHAPE.exec(url);
  if (!m) {
    throw new PostgresSettingsError(
      'the database is not a URL of the form postgres://user:password@host:port/dbname?sslmode=…',
    );
  }
  const [, userinfo, hostport, dbname, query] = m;
  const given: [Key, string | undefined, string][] = [];
  const rawSecrets: string[] = [];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    given.push(['user', colon < 0 ? userinfo : userinfo.slice(0, colon), 'user']);
    if (colon >= 0) {
      rawSecrets.push(userinfo.slice(colon + 1));
      given.push(['password', userinfo.slice(colon + 1), 'password']);
    }
  }
  if (hostport.includes(','))
    throw new PostgresSettingsError('the database URL names several hosts: give one');
  const [, ipv6, name, port] = HOST_PORT.exec(hostport) ?? [];
  given.push(['host', ipv6 ?? name, 'host'], ['port', port, 'port'], ['dbname', dbname, 'database name']);
  for (const pair of query ? query.split('&') : []) {
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), 'query');
    if (!(key in ENV)) {
      const known = Object.keys(ENV).join(', ');
      throw new PostgresSettingsError(
        `the database URL's parameter "${key}" is not supported (known: ${known})`,
      );
    }
    if (key === 'password') rawSecrets.push(pair.slice(eq + 1));
    given.push([key as Key, eq < 0 ? '' : pair.slice(eq + 1), `${key} parameter`]);
  }
  const settings: Partial<Record<Key, Setting>> = {};
  // libpq treats an empty part as absent (postgres:///db takes the host from PGHOST).
  for (const [key, raw, what] of given)
    if (raw) settings[key] = { value: decode(raw, what), from: 'the database URL' };
  return { settings, rawSecrets };
}

/** ~/.pgpass (or PGPASSFILE): hostname:port:database:username:password, * matching anything. */
function passwordFromFile(file: string, host: string, port: string, dbname: string, user: string) {
  // libpq ignores a password file others can read (its warning is not worth a logger here).
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile() || (stat.mode & 0o077) !== 0) return undefined;
  const wanted = [host.startsWith('/') ? 'localhost' : host, port, dbname, user];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#')) continue;
    const fields = [''];
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
      else if (line[i] === ':') fields.push('');
      else fields[fields.length - 1] += line[i];
    }
    if (fields.length >= 5 && wanted.every((w, i) => fields[i] === '*' || fields[i] === w))
      return fields.slice(4).join(':');
  }
  return undefined;
}

function readPem(setting: Setting, name: string): string {
  try {
    return readFileSync(setting.value, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new PostgresSettingsError(`${name} ${setting.value} (from ${setting.from}) cannot be read: ${why}`);
  }
}

/**
 * The TLS options for a mode. Certificates are always verified (nothing here turns verification
 * off): verify-full and prefer/allow check the chain and the host name; verify-ca the chain only;
 * require is verify-ca, stricter than libpq's require, which checks nothing without a root file.
 */
function tlsOptions(mode: SslMode, host: string, s: Partial<Record<Key, Setting>>): ConnectionOptions {
  const options: ConnectionOptions = {};
  const root = s.sslrootcert;
  if (root && root.value !== 'system') options.ca = readPem(root, 'sslrootcert');
  if (!!s.sslcert !== !!s.sslkey)
    throw new PostgresSettingsError('sslcert and sslkey (a client certificate) go together: give both');
  if (s.sslcert && s.sslkey) {
    options.cert = readPem(s.sslcert, 'sslcert');
    options.key = readPem(s.sslkey, 'sslkey');
  }
  if (mode === 'verify-ca' || mode === 'require') options.checkServerIdentity = () => undefined;
  else options.checkServerIdentity = (_name, certificate) => tls.checkServerIdentity(host, certificate);
  return options;
}

function sslModeOf(s: Partial<Record<Key, Setting>>): SslMode {
  const { sslmode, sslrootcert } = s;
  const system = sslrootcert?.value === 'system';
  if (!sslmode) return system ? 'verify-full' : 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(sslmode.value)) {
    throw new PostgresSettingsError(
      `sslmode "${sslmode.value}" (from ${sslmode.from}) is not one of ${SSL_MODES.join(', ')}`,
    );
  }
  // As libpq 16: against the public CAs, a check without the host name proves nothing.
  if (system && sslmode.value !== 'verify-full')
    throw new PostgresSettingsError(
      `sslmode ${sslmode.value} with sslrootcert=system is too weak: use verify-full`,
    );
  if (sslmode.value === 'verify-ca' && !sslrootcert)
    throw new PostgresSettingsError('sslmode verify-ca needs sslrootcert (the CA file to trust)');
  return sslmode.value as SslMode;
}

function portOf(setting: Setting | undefined): number {
  if (!setting) return 5432;
  const port = Number(setting.value);
  if (!/^\d+$/.test(setting.value) || port < 1 || port > 65535)
    throw new PostgresSettingsError(`port "${setting.value}" (from ${setting.from}) is not a port number`);
  return port;
}

/** Seconds as libpq reads them: 0 or less waits forever, and 1 means 2. */
function connectTimeoutMs(setting: Setting | undefined): number {
  if (!setting) return DEFAULT_CONNECT_TIMEOUT_S * 1000;
  if (!/^-?\d+$/.test(setting.value.trim())) {
    throw new PostgresSettingsError(
      `connect_timeout "${setting.value}" (from ${setting.from}) is not a whole number of seconds`,
    );
  }
  const seconds = Number(setting.value);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

/** The settings for a postgres:// or postgresql:// URL (a --db), completed from `env`. */
export function postgresSettings(url: string, env: NodeJS.ProcessEnv = process.env): PostgresSettings {
  const { settings: s, rawSecrets } = fromUrl(url);
  for (const [key, name] of Object.entries(ENV) as [Key, string][])
    if (!s[key] && env[name]) s[key] = { value: env[name], from: name };
  const host = s.host?.value ?? 'localhost';
  const port = portOf(s.port);
  const user = s.user?.value ?? os.userInfo().username;
  const database = s.dbname?.value ?? user;
  const sslmode = sslModeOf(s);
  const home = env.HOME ?? os.homedir();
  const passfile = s.passfile?.value ?? path.join(home, '.pgpass');
  const password = s.password?.value ?? passwordFromFile(passfile, host, String(port), database, user);
  const client: ClientConfig = {
    host,
    port,
    user,
    database,
    // A function, so that pg does not look for a password itself (its pgpass and PGPASSWORD).
    password: password ?? noPassword,
    application_name: s.application_name?.value ?? 'census-etl',
    connectionTimeoutMillis: connectTimeoutMs(s.connect_timeout),
    // libpq ignores sslmode on unix sockets, where the server offers no TLS.
    ssl: sslmode === 'disable' || host.startsWith('/') ? false : tlsOptions(sslmode, host, s),
  };
  // allow tries TLS first, as prefer does (libpq's allow tries without TLS first).
  const fallback = (sslmode === 'prefer' || sslmode === 'allow') && client.ssl !== false;
  const shownHost = host.startsWith('/') ? encodeURIComponent(host) : net.isIPv6(host) ? `[${host}]` : host;
  // The path stays readable: only what would end the parameter or the URL is encoded.
  const rootFile = s.sslrootcert?.value.replace(/[%&#\s]/g, encodeURIComponent);
  const root = rootFile ? `&sslrootcert=${rootFile}` : '';
  const display =
    `postgres://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}` +
    `?sslmode=${sslmode}${root}`;
  const forms = password === undefined ? [] : [password, encodeURIComponent(password), ...rawSecrets];
  const secrets = [...new Set(forms.filter(Boolean))].sort((a, b) => b.length - a.length);
  return { client, withoutTls: fallback ? { ...client, ssl: false } : null, sslmode, display, secrets };
}

/** Asked only when the server wants a password and none was given. */
async function noPassword(): Promise<string> {
  throw new PostgresSettingsError(
    'the server asks for a password and none is set: put it in the URL, PGPASSWORD or ~/.pgpass',
  );
}

/** `text` with every secret replaced by ***. */
export const scrub = (text: string, secrets: readonly string[]) =>
  secrets.reduce((t, secret) => t.split(secret).join('***'), text);
