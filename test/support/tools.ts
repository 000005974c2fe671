/**
 * Tests that need a tool a laptop may lack (moto_server, terraform, chromium...) skip with a
 * visible reason; under CI=true the missing tool fails the test instead.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Returns true when the test may go on; otherwise skips it, or fails it under CI. */
export function requireTool(t: TestContext, cmd: string): boolean {
  if (hasCommand(cmd)) return true;
  const why = `${cmd} is not installed`;
  if (process.env.CI === 'true') throw new Error(`${why} (CI=true: .ci/run must install it)`);
  t.skip(why);
  return false;
}
