/**
 * The SQLite stack as synthesized (test inputs, real AWS and the emulator), its project path
 * replaced by <project>: what test/infra/sqlite-unchanged.test.ts compares with the copy taken
 * before PostgreSQL was added. A deliberate change of the SQLite stack writes a new
 * copy: `node --import tsx test/infra/golden.ts > test/infra/sqlite-stack.json`.
 */
import { ROOT } from '../../infra/layout.ts';
import { synth } from './synth.ts';

export const SQLITE_SETTINGS = { aws: {}, emulator: { CENSUS_AWS_ENDPOINT: 'http://127.0.0.1:5000' } };

export function sqliteStacks(): string {
  const stacks = Object.fromEntries(Object.entries(SQLITE_SETTINGS).map(([k, env]) => [k, synth(env)]));
  return `${JSON.stringify(stacks, null, 2).replaceAll(ROOT, '<project>')}\n`;
}

if (import.meta.main) process.stdout.write(sqliteStacks());
