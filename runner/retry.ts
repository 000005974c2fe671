/** Retries with exponential backoff, each failed attempt logged: S3 and downloads use it. */
import pRetry from 'p-retry';

export type RetryPolicy = { attempts: number; minDelaySeconds: number };

/** fetch's errors say only "fetch failed" or "terminated"; their causes say why. */
export const explain = (e: Error): string =>
  e.cause instanceof Error ? `${e.message} (${explain(e.cause)})` : e.message;

export function withRetry<T>(
  what: string,
  policy: RetryPolicy,
  log: (line: string) => void,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(fn, {
    signal,
    retries: policy.attempts - 1,
    minTimeout: policy.minDelaySeconds * 1000,
    factor: 2,
    randomize: false,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0) log(`${what}: attempt ${attemptNumber}/${policy.attempts} failed (${explain(error)}); retrying`);
    },
  }).catch((e: Error) => {
    throw new Error(`${what} failed after ${policy.attempts} attempts: ${explain(e)}`);
  });
}
