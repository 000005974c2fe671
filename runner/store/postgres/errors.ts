/**
 * node-postgres and socket errors as messages a person can act on, each naming the database by
 * its display form (settings.ts: never a password), and whether a retry with backoff may help.
 * Retrying is always safe for the store: a batch and its checkpoint commit together or not at all.
 */
import { PostgresSettingsError } from './settings.ts';

export type PostgresProblem = { message: string; retryable: boolean };

/** Raised by the store when a table of its name exists with other columns; explained as is. */
export class TableShapeError extends Error {
  constructor(
    readonly table: string,
    readonly difference: string,
  ) {
    super(`table ${table} exists with another shape (${difference})`);
  }
}

/** What pg and Node put on the errors this reads: a SQLSTATE or an errno/TLS code. */
type Failure = Error & { code?: string; errors?: { code?: string }[] };

/** The server answered the TLS request with "no": only then may prefer/allow go on without TLS. */
export const serverRefusedTls = (error: unknown) =>
  error instanceof Error && error.message === 'The server does not support SSL connections';

/**
 * What the PostgreSQL store throws for a database failure after it has connected (and, when
 * retrying may help, while connecting): the message explained (naming the database, never its
 * password), the SQLSTATE or socket code, and whether the same operation may succeed if retried
 * (a lost connection, a full disk, a serialization failure). A batch and its checkpoint commit
 * together or not at all, so retrying a batch that failed is always safe. Callers that must not
 * import PostgreSQL code may test `(error as { retryable?: boolean }).retryable === true`.
 */
export class PostgresError extends Error {
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly retryable: boolean,
    options: { code?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PostgresError';
    this.code = options.code;
  }
}

const UNREACHABLE = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOENT'];
const DROPPED = ['ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'];
const DROPPED_MESSAGES = [
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
];
const CONNECT_TIMEOUT = ['timeout expired', 'Connection terminated due to connection timeout'];
const UNTRUSTED = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
];

/** The sslrootcert named in a display form, for the messages about trust. */
function rootsOf(display: string): string {
  const file = /[?&]sslrootcert=([^&]*)/.exec(display)?.[1];
  if (!file || file === 'system') return "Node's default CAs (no sslrootcert file given)";
  return `sslrootcert ${decodeURIComponent(file)}`;
}

const sslmodeOf = (display: string) => /[?&]sslmode=([^&]*)/.exec(display)?.[1] ?? 'prefer';

function explain(e: Failure, display: string): PostgresProblem {
  const code = e.code ?? e.errors?.find((x) => x.code)?.code ?? '';
  const said = `(${code ? `${code}: ` : ''}${e.message})`;
  const permanent = (message: string) => ({ message, retryable: false });
  const retryable = (message: string) => ({ message, retryable: true });
  if (e instanceof TableShapeError)
    return permanent(`${display}: ${e.message}: rename or drop that table, or load into another database`);
  if (e instanceof PostgresSettingsError) return permanent(`${display}: ${e.message}`);
  if (UNREACHABLE.includes(code) || CONNECT_TIMEOUT.includes(e.message))
    return retryable(`cannot reach ${display} ${said}: is the server up, and are host and port right?`);
  if (code === 'ENOTFOUND')
    return permanent(`no host of that name for ${display} ${said}: check the host in the database URL`);
  if (serverRefusedTls(e)) {
    return permanent(
      `${display} does not offer TLS, which sslmode ${sslmodeOf(display)} requires: turn ssl on in ` +
        'the server, or use sslmode=prefer or disable on a trusted network',
    );
  }
  if (UNTRUSTED.includes(code)) {
    return permanent(
      `${display}: the server's certificate is not signed by a CA of ${rootsOf(display)} ${said}: ` +
        'give the CA that signed it as sslrootcert (for RDS: global-bundle.pem)',
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return permanent(
      `${display}: the server's certificate is not for this host ${said}: connect by a name it lists, ` +
        'or use sslmode=verify-ca to check its CA only',
    );
  }
  if (code.startsWith('CERT_') || code.startsWith('ERR_SSL_') || code === 'EPROTO')
    return permanent(`${display}: TLS failed ${said}`);
  if (code === '28P01')
    return permanent(`${display}: wrong password or no such user ${said}: check the user and its password`);
  if (code === '28000' && /no encryption/.test(e.message)) {
    return permanent(
      `${display}: the server requires TLS ${said}: use sslmode=verify-full with sslrootcert ` +
        '(for RDS: global-bundle.pem)',
    );
  }
  if (code === '28000')
    return permanent(`${display}: the server's pg_hba.conf lets no such connection in ${said}`);
  if (code === '3D000')
    return permanent(`${display}: the database does not exist ${said}: create it, or fix its name`);
  if (code === '42501') {
    return permanent(
      `${display}: permission denied ${said}: the user needs CREATE on the schema and ` +
        'INSERT, UPDATE, SELECT on the tables',
    );
  }
  // Disk full: the batch rolled back, and space comes back without a person often enough (WAL
  // recycled at the next checkpoint, RDS storage autoscaling) for a few retries to be worth it.
  if (code === '53100')
    return retryable(`${display}: the server's disk is full ${said}: the batch was rolled back; free space`);
  if (code === '53300') {
    return retryable(
      `${display}: too many connections ${said}: other clients hold them all; raise max_connections ` +
        'or wait for them',
    );
  }
  // Another session touched the rows this transaction read or wrote: the batch rolled back whole.
  if (code === '40001' || code === '40P01') {
    return retryable(
      `${display}: the transaction conflicted with another session ${said}: it was rolled back`,
    );
  }
  if (connectionLost(e)) {
    return retryable(
      `${display}: the connection was lost ${said}: what was not committed is rolled back, ` +
        'and a run resumes after the last committed batch',
    );
  }
  return permanent(`${display}: ${said.slice(1, -1)}`);
}

/** Whether an error says the connection is gone (the server's session, and its transaction, with it). */
export function connectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Failure).code ?? '';
  return DROPPED.includes(code) || code.startsWith('08') || DROPPED_MESSAGES.includes(error.message);
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): a row's fault, not the database's. */
const ROW_FAULT = /^2[23][0-9A-Z]{3}$/;

/**
 * `error` as a PostgresError: explained, except a row's fault (a key, a CHECK, a value the column
 * cannot hold), which keeps the server's own words, as a quarantine reason quotes them.
 */
export function postgresError(error: unknown, display: string): PostgresError {
  if (error instanceof PostgresError) return error;
  const code = typeof (error as Failure)?.code === 'string' ? (error as Failure).code : undefined;
  if (code && ROW_FAULT.test(code))
    return new PostgresError((error as Error).message, false, { code, cause: error });
  const { message, retryable } = explainPostgresError(error, display);
  return new PostgresError(message, retryable, { code, cause: error });
}

export function explainPostgresError(error: unknown, display: string): PostgresProblem {
  return explain(error instanceof Error ? error : new Error(String(error)), display);
}
