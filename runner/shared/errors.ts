/** A bad parameter, descriptor or usage: exit code 2, nothing written. */
export class UsageError extends Error {}
