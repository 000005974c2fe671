/** A bad parameter, descriptor or usage: exit code 2, nothing written. */
export class UsageError extends Error {}

/** A second run on the same database: it refuses to start (exit 1). */
export class LockedError extends Error {}
