/**
 * SQLite, the default destination, keeps the stack it had before PostgreSQL was added:
 * byte for byte, on AWS and under the emulator: no RDS resource, no new cost, the same user-data.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../infra/layout.ts';
import { sqliteStacks } from './golden.ts';

const GOLDEN = path.join(ROOT, 'test', 'infra', 'sqlite-stack.json');

test('the SQLite stack is byte for byte the one before PostgreSQL (test/infra/sqlite-stack.json)', () => {
  assert.equal(sqliteStacks(), readFileSync(GOLDEN, 'utf8'));
});
