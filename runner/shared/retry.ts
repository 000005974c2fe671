/**
 * Retries with exponential backoff, each retry logged: S3 and downloads use it. An attempt
 * that gets no answer within the policy's timeout fails (see s3.ts and sources.ts); an error
 * that retrying cannot mend (403, 404, no such bucket) fails at once.
 */
import pRetry from 'p-retry';

export type RetryPolicy = {
  attempts: number;
  minDelaySeconds: number;
  /** An attempt fails after this long without a byte: connecting, or waiting for data. */
  timeoutSeconds: number;
};

/** 6 attempts over about 31 s of delays; each attempt silent for 30 s at most. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, minDelaySeconds: 1, timeoutSeconds: 30 };

/** fetch's errors say only "fetch failed" or "terminated"; their causes say why. */
export const explain = (e: Error): string =>
  e.cause instanceof Error ? `${e.message} (${explain(e.cause)})` : e.message;

/** S3's names for what no retry mends: the bucket or key is not there, access is denied. */
const PERMANENT_S3 = [
  'PreconditionFailed',
  'NoSuchBucket',
  'NoSuchKey',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
];

/** HTTP status of an S3 error ($metadata) or of a download (`status`, see sources.ts). */
const statusOf = (e: unknown): number | undefined =>
  (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ??
  (e as { status?: number }).status;

/**
 * Forbidden, not found, gone, a precondition that failed (a conditional write), or S3's names
 * for those: the same request fails again.
 */
export function isPermanent(e: unknown): boolean {
  const status = statusOf(e);
  return [403, 404, 410, 412].includes(status ?? 0) || PERMANENT_S3.includes((e as Error).name);
}

/** What a retried operation throws at the end: `permanent` when it was not worth retrying. */
export class RetryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function withRetry<T>(
  what: string,
  policy: Pick<RetryPolicy, 'attempts' | 'minDelaySeconds'>,
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
    shouldRetry: ({ error, attemptNumber }) => {
      if (isPermanent(error)) return false;
      log(`${what}: attempt ${attemptNumber}/${policy.attempts} failed (${explain(error)}); retrying`);
      return true;
    },
  }).catch((e: Error) => {
    if (signal?.aborted) throw e;
    const status = statusOf(e);
    if (isPermanent(e)) {
      const why = `${status ? `HTTP ${status}` : e.name}: not retried, the same request would fail again`;
      throw new RetryError(`${what} failed: ${explain(e)} (${why})`, true, { cause: e });
    }
    throw new RetryError(`${what} failed after ${policy.attempts} attempts: ${explain(e)}`, false, {
      cause: e,
    });
  });
}
