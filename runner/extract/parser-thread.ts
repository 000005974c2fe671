/**
 * A parser thread: parses the byte ranges it is asked for (parse.ts) and hands the results
 * back. Bundled, this is parser.mjs, a file of its own beside the CLI.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Table } from '../dataset/model.ts';
import { parseRange, type ParsedRecords, type RangeJob } from './parse.ts';

/** What a thread is given once: the dataset's tables and the record limit. */
export type ParserSetup = { tables: Table[]; maxRecordBytes: number };
export type ParseJob = RangeJob & { id: number };
export type ParseReply = { id: number; records?: ParsedRecords; error?: string };

const setup = workerData as ParserSetup;

parentPort?.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = { id: job.id, records: parseRange(setup.tables[job.table], job, setup.maxRecordBytes) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  const r = reply.records;
  const buffers = r ? [r.ends.buffer, r.lines.buffer, r.kinds.buffer, r.packed.buffer] : [];
  parentPort!.postMessage(reply, buffers as ArrayBuffer[]);
});
