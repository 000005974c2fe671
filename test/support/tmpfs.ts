/**
 * A small filesystem (a size-limited tmpfs) to fill up for real. Mounting needs root; on a
 * laptop the test skips visibly, under CI=true it fails instead.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { tempDir } from './fixtures.ts';

export type SmallFs = { dir: string; resize: (bytes: number) => void; unmount: () => void };

const mount = (args: string[]) => spawnSync('mount', args, { encoding: 'utf8' });

/** Mounts a tmpfs of `bytes`, or skips the test (fails it under CI) when that is not possible. */
export function smallFilesystem(t: TestContext, bytes: number): SmallFs | null {
  const dir = tempDir('census-etl-full-');
  const r = mount(['-t', 'tmpfs', '-o', `size=${bytes}`, 'census-etl-test', dir]);
  if (r.status !== 0) {
    const why = `cannot mount a small tmpfs (needs root): ${r.stderr.trim() || r.error?.message}`;
    if (process.env.CI === 'true') throw new Error(why);
    t.skip(why);
    return null;
  }
  return {
    dir,
    resize: (size) => {
      const again = mount(['-o', `remount,size=${size}`, dir]);
      if (again.status !== 0) throw new Error(`remount ${dir}: ${again.stderr}`);
    },
    unmount: () => void spawnSync('umount', [dir]),
  };
}
