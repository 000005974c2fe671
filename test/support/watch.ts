/** Watching a started CLI's output as it comes, to act at a chosen moment of its run. */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves true as soon as a line of the child's stdout (or stderr) matches `pattern`, false
 * if the child exits first. Call it right after starting the child, before `finished`.
 */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  from: 'stdout' | 'stderr' = 'stdout',
): Promise<boolean> {
  const stream = child[from]!;
  return new Promise((resolve) => {
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.some((l) => pattern.test(l))) done(true);
    };
    const onExit = () => done(false);
    const done = (seen: boolean) => {
      stream.off('data', onData);
      child.off('exit', onExit);
      resolve(seen);
    };
    stream.on('data', onData);
    child.on('exit', onExit);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A seeded generator (mulberry32), so a failing sequence of instants can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A string as a regular expression that matches it literally (paths and URLs in messages). */
export const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
