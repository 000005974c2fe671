/**
 * What each step of a run hands on, in one place: the stages return these, the run's summary
 * and the CLI read them.
 */
import type { StagedSource } from './extract/sources.ts';
import type { RunIdentity, Status } from './store/store.ts';

/** Staging: every source as a verified local file, indexed, in load order. */
export type StageInfo = { sources: StagedSource[] };

/** Loading: the batches this run committed, after those a resumed run found. */
export type LoadInfo = {
  resumedAfter: number;
  batches: number;
  /** Time spent in batches (read, clean, insert, commit), not waiting for ticks. */
  batchMs: number;
};

/** Publishing: where the run's results went, each object's size and checksum. */
export type PublishInfo = {
  to: string;
  objects: Record<string, { bytes: number; sha256: string }>;
  latest: boolean;
};

/** How a run or a publish ended, when it ended well. */
export type RunOutcome = {
  run: RunIdentity;
  status: Status;
  summaryFile: string;
  stage: StageInfo | null;
  load: LoadInfo | null;
  published: PublishInfo | null;
};
