/** The run's log: one line per event, to stdout and appended to the log file. */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { redact } from './redact.ts';

export type Log = (line: string) => void;

/**
 * A run's log. `error` is for what ends a run (a failure, a stop): the person at the terminal
 * reads it on stderr, and the log file (which is published) keeps it too.
 */
export type RunLog = Log & { readonly file: string | null; error: (message: string) => void };

/** Every line passes through redact: no secret reaches the terminal, the log or its upload. */
const stamp = (line: string) => `${new Date().toISOString()} ${redact(line)}\n`;

export function createLog(
  file: string | null,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): RunLog {
  if (file) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const log = (line: string) => {
    const text = stamp(line);
    out.write(text);
    if (!file) return;
    try {
      appendFileSync(file, text);
    } catch (e) {
      // As for a batch: what is kept, and what to do (a raw ENOSPC says neither).
      if (!['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      const kept = 'every committed batch is kept; free space and run again to resume';
      throw new Error(`disk full writing the log ${file}: ${kept}`);
    }
  };
  const error = (text: string) => {
    const message = redact(text);
    err.write(`census-etl: ${message}\n`);
    try {
      if (file) appendFileSync(file, stamp(`census-etl: ${message}`));
    } catch {
      // The message is on stderr; a log file that cannot take it must not hide it.
    }
  };
  return Object.assign(log, { file, error });
}

/** "4m 05s", "12s", "850 ms": durations as a person reads them. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m ${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
