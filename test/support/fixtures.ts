/** Small source files the tests generate: records in the Adult format, edge cases on demand. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COLUMNS, FILES } from '../../runner/dataset/adult.ts';

/** A valid record, varied by `i` so rows differ; every value comes from the dataset definition. */
export function record(i: number, overrides: Record<string, string> = {}): string {
  return COLUMNS.map((c) => {
    if (c.name in overrides) return overrides[c.name];
    if (c.kind === 'nominal') return c.domain[i % c.domain.length];
    return String(Math.min(c.max, c.min + (i % 50)));
  }).join(', ');
}

export const records = (n: number, from = 0) => Array.from({ length: n }, (_, k) => record(from + k));

export function tempDir(prefix = 'census-etl-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Writes the two source files (as the runner expects them in a data folder) with the given
 * contents, verbatim; returns the folder.
 */
export function writeSources(contents: [string, string], dir = tempDir()): string {
  mkdirSync(dir, { recursive: true });
  FILES.forEach((f, i) => writeFileSync(path.join(dir, f.name), contents[i]));
  return dir;
}

export const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join('');
