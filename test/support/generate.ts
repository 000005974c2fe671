/** Generated source folders for fault tests: records with the dataset's quirks mixed in. */
import { lines, record, writeSources } from './fixtures.ts';

/**
 * `n` lines from record number `from`: mostly valid records, with a bad integer every 97th,
 * an unknown category every 89th and a blank line every 61st, so that loaded, quarantined
 * and skipped lines all cross batch boundaries.
 */
export function mixedLines(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    if (i % 97 === 50) return record(i, { age: `x${i}` });
    if (i % 89 === 40) return record(i, { workclass: 'Astronaut' });
    if (i % 61 === 30) return '';
    return record(i);
  });
}

/** A data folder like the real one: Adult.test opens with a comment line; both end with a blank line. */
export const mixedSources = (dataLines: number, testLines: number, dir?: string) =>
  writeSources(
    [
      lines([...mixedLines(dataLines), '']),
      lines(['|1x3 Cross validator', ...mixedLines(testLines, dataLines), '']),
    ],
    dir,
  );
