/** Explanations of the errors no local cluster produces on demand: the store's own, and odd shapes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectionLost,
  explainPostgresError,
  PostgresError,
  postgresError,
  serverRefusedTls,
  TableShapeError,
} from '../../../../runner/store/postgres/errors.ts';
import { PostgresSettingsError } from '../../../../runner/store/postgres/settings.ts';

const DB = 'postgres://loader@db.example:5432/census?sslmode=verify-full';
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

test('a table of the same name with another shape (raised by the store): permanent, says what to do', () => {
  const p = explainPostgresError(new TableShapeError('adult', 'column age is text, not integer'), DB);
  assert.equal(p.retryable, false);
  assert.equal(
    p.message,
    `${DB}: table adult exists with another shape (column age is text, not integer): ` +
      'rename or drop that table, or load into another database',
  );
});

test('settings and unknown errors: permanent, naming the database', () => {
  const settings = explainPostgresError(new PostgresSettingsError('the server asks for a password'), DB);
  assert.deepEqual(settings, { message: `${DB}: the server asks for a password`, retryable: false });
  assert.deepEqual(explainPostgresError('odd', DB), { message: `${DB}: odd`, retryable: false });
  assert.deepEqual(explainPostgresError(coded('XX000', 'internal error'), DB), {
    message: `${DB}: XX000: internal error`,
    retryable: false,
  });
});

test('a name that does not resolve is permanent; a DNS failure that may pass is not', () => {
  assert.equal(explainPostgresError(coded('ENOTFOUND'), DB).retryable, false);
  assert.match(explainPostgresError(coded('ENOTFOUND'), DB).message, /check the host/);
  assert.equal(explainPostgresError(coded('EAI_AGAIN'), DB).retryable, true);
});

test('every address refused (Node tries each address of a name): unreachable, retryable', () => {
  const all = new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], '');
  const p = explainPostgresError(all, DB);
  assert.equal(p.retryable, true);
  assert.match(p.message, /^cannot reach .*ECONNREFUSED/);
});

test('only the server’s "no" to TLS lets prefer go on without it', () => {
  assert.equal(serverRefusedTls(new Error('The server does not support SSL connections')), true);
  assert.equal(serverRefusedTls(coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), false);
  assert.equal(serverRefusedTls(coded('ERR_TLS_CERT_ALTNAME_INVALID')), false);
  assert.equal(serverRefusedTls(new Error('There was an error establishing an SSL connection')), false);
});

test('a serialization failure or deadlock: the transaction rolled back, retryable', () => {
  for (const code of ['40001', '40P01']) {
    const p = explainPostgresError(coded(code, 'could not serialize access'), DB);
    assert.equal(p.retryable, true, code);
    assert.match(p.message, /conflicted with another session .*rolled back/);
  }
});

test('connectionLost: the session is gone (a terminated backend, a reset socket), not a statement', () => {
  for (const lost of [
    coded('57P01'),
    coded('ECONNRESET'),
    coded('08006'),
    new Error('Connection terminated unexpectedly'),
  ])
    assert.equal(connectionLost(lost), true, lost.message);
  for (const kept of [coded('23505'), coded('53100'), coded('42501'), 'text'])
    assert.equal(connectionLost(kept), false, String(kept));
});

test('postgresError: explained and marked; a row’s fault keeps the server’s words for its reason', () => {
  const lost = postgresError(coded('57P01', 'terminating connection'), DB);
  assert.ok(lost instanceof PostgresError);
  assert.deepEqual([lost.code, lost.retryable], ['57P01', true]);
  assert.match(lost.message, /^postgres:\/\/loader@db\.example.*the connection was lost/);
  const key = postgresError(coded('23505', 'duplicate key value violates unique constraint "t_pkey"'), DB);
  assert.deepEqual(
    [key.code, key.retryable, key.message],
    ['23505', false, 'duplicate key value violates unique constraint "t_pkey"'],
  );
  assert.equal(postgresError(coded('22021', 'invalid byte sequence'), DB).message, 'invalid byte sequence');
  assert.equal(postgresError(key, 'other'), key, 'explained once');
  const unknown = postgresError(coded('XX000', 'internal error'), DB);
  assert.deepEqual([unknown.retryable, unknown.message], [false, `${DB}: XX000: internal error`]);
});
