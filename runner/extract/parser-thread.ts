/**
 * A parser thread: parses the byte ranges it is asked for (lines.ts) and hands the typed
 * arrays back without a copy. Bundled, this is parser.mjs, a file of its own beside the CLI.
 */
import { parentPort } from 'node:worker_threads';
import { parseRange, type ParsedLines } from './lines.ts';

/** What a parser thread is asked: the lines of `file` starting in [from, until). */
export type ParseJob = { id: number; file: string; origin: number; from: number; until: number };
export type ParseReply = { id: number; lines?: ParsedLines; error?: string };

parentPort?.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = { id: job.id, lines: parseRange(job.file, job.origin, job.from, job.until) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  const l = reply.lines;
  const buffers = l ? [l.ends.buffer, l.kinds.buffer, l.rowLines.buffer, l.values.buffer] : [];
  parentPort!.postMessage(reply, buffers as ArrayBuffer[]);
});
