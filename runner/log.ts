/** The run's log: one line per event, to stdout and appended to the log file. */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type Log = (line: string) => void;

export function createLog(file: string | null, out: NodeJS.WritableStream = process.stdout): Log {
  if (file) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return (line) => {
    const text = `${new Date().toISOString()} ${line}\n`;
    out.write(text);
    if (file) appendFileSync(file, text);
  };
}

/** "4m 05s", "12s", "850 ms": durations as a person reads them. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
