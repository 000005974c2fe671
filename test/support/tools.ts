/**
 * Tests that need a tool a laptop may lack (moto_server, terraform, chromium...) skip with a
 * visible reason; under CI=true the missing tool fails the test instead.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** For what is not a command on PATH: false when `present`, else `why` (under CI=true, an error). */
export function skipUnlessPresent(present: boolean, why: string): string | false {
  if (present) return false;
  if (process.env.CI === 'true') throw new Error(`${why} (CI=true: .ci/run must install it)`);
  return why;
}

/** For `test(name, { skip: skipUnless('moto_server') }, ...)`: false when present, else why. */
export const skipUnless = (cmd: string): string | false =>
  skipUnlessPresent(hasCommand(cmd), `${cmd} is not installed`);

/** Inside a test: true when it may go on; otherwise skips it (or, under CI, fails). */
export function requireTool(t: TestContext, cmd: string): boolean {
  const why = skipUnless(cmd);
  if (why) t.skip(why);
  return !why;
}
