/**
 * URIs as the runner, the stack and the scripts share them: s3:// locations and the redacted
 * form shown to people. Pure, and importing nothing but the pure redact.ts, so the user-data
 * builder and the IAM policy can use it without loading the AWS SDK or SQLite.
 */
import { redact } from './redact.ts';

export type S3Location = { bucket: string; key: string };

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}

/** Whether a location is remote (https:// or s3://) rather than a local path. */
export const isRemoteUri = (uri: string) => /^(https|s3):\/\//.test(uri);

export const s3Uri = ({ bucket, key }: S3Location) => `s3://${bucket}/${key}`;

/** A prefix key with its final "/" ("" stays the bucket's root). */
export const asPrefix = (key: string) => (key === '' || key.endsWith('/') ? key : `${key}/`);

/** The object `name` under a prefix URI such as s3://bucket/results/ (the final "/" optional). */
export function objectUnder(prefixUri: string, name: string): S3Location {
  const { bucket, key } = parseS3Uri(prefixUri);
  return { bucket, key: `${asPrefix(key)}${name}` };
}

/**
 * URIs as shown in logs, messages and the database: no password, no https query string
 * (pre-signed URLs carry their signatures there). The one redaction, redact.ts's.
 */
export const redactUri = (uri: string) => redact(uri);
