/** A parser thread: parses and cleans the byte ranges the loader sends, in the order asked. */
import { parentPort } from 'node:worker_threads';
import { parseRange } from './lines.ts';

export type ParseJob = { id: number; file: string; origin: number; from: number; until: number };
export type ParseReply = { id: number; lines?: import('./lines.ts').ParsedLines; error?: string };

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = { id: job.id, lines: parseRange(job.file, job.origin, job.from, job.until) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply, reply.lines ? [reply.lines.values.buffer] : []);
});
