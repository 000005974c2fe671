/**
 * The S3 clients of the runner. They follow the standard AWS settings (credentials chain,
 * AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL); with a custom endpoint they use
 * path-style addressing, which S3-compatible servers (MinIO, moto) need. Every request has
 * a timeout: an endpoint that accepts the connection and never answers fails the attempt.
 * The SDK is loaded at the first call (about 35 MB): a local run never loads it.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_RETRY } from './retry.ts';
import type { S3Location } from './uri.ts';

const sdk = () => import('@aws-sdk/client-s3');

/** One client per timeout (in practice, one per run). */
const clients = new Map<number, S3Client>();

export async function s3Client(timeoutSeconds = DEFAULT_RETRY.timeoutSeconds, env = process.env) {
  let client = clients.get(timeoutSeconds);
  if (client) return client;
  const { S3Client } = await sdk();
  const customEndpoint = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  const ms = timeoutSeconds * 1000;
  client = new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: customEndpoint,
    // Without these the SDK frames streamed bodies as aws-chunked, which some
    // S3-compatible servers store verbatim inside the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Our own retry loop (retry.ts) makes and logs every attempt: none is retried silently,
    // and an attempt lasts one timeout at most.
    maxAttempts: 1,
    // Connecting, then each wait for bytes (an idle timeout: a large object may take longer).
    requestHandler: { connectionTimeout: ms, socketTimeout: ms },
  });
  clients.set(timeoutSeconds, client);
  return client;
}

/** The SDK's timeout, said plainly (its own message names its module and setting). */
export const plainTimeout = (e: unknown, timeoutSeconds = DEFAULT_RETRY.timeoutSeconds): unknown =>
  (e as Error).name === 'TimeoutError' ? new Error(`no answer within ${timeoutSeconds}s`) : e;

/** How one S3 call is bounded: the policy's timeout, and a signal that abandons it (a stop). */
export type S3CallOptions = { timeoutSeconds?: number; signal?: AbortSignal };
/** A GET of a document that must be small: a larger object is not read (its first bytes, at most). */
export type GetOptions = S3CallOptions & { maxBytes?: number };
/** A PUT that creates the object only if there is none (S3's conditional write, If-None-Match). */
export type PutOptions = S3CallOptions & { ifAbsent?: boolean };

export async function getObjectBytes(loc: S3Location, o: GetOptions = {}): Promise<Buffer> {
  const Range = o.maxBytes === undefined ? undefined : `bytes=0-${o.maxBytes}`;
  try {
    const get = new (await sdk()).GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range });
    const out = await (await s3Client(o.timeoutSeconds)).send(get, { abortSignal: o.signal });
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (e) {
    throw plainTimeout(e, o.timeoutSeconds);
  }
}

/** An object's body as a stream; the caller times it out (`signal`) and turns errors plain. */
export async function getObjectStream(loc: S3Location, o: S3CallOptions = {}): Promise<Readable> {
  const get = new (await sdk()).GetObjectCommand({ Bucket: loc.bucket, Key: loc.key });
  return (await (await s3Client(o.timeoutSeconds)).send(get, { abortSignal: o.signal })).Body as Readable;
}

export async function putObjectBytes(
  loc: S3Location,
  body: Buffer,
  contentType: string,
  o: PutOptions = {},
): Promise<void> {
  const { bucket: Bucket, key: Key } = loc;
  const IfNoneMatch = o.ifAbsent ? '*' : undefined;
  try {
    const put = new (await sdk()).PutObjectCommand({
      Bucket,
      Key,
      Body: body,
      ContentType: contentType,
      IfNoneMatch,
    });
    await (await s3Client(o.timeoutSeconds)).send(put, { abortSignal: o.signal });
  } catch (e) {
    throw plainTimeout(e, o.timeoutSeconds);
  }
}

/** S3's answer when the object is not there (GetObject says NoSuchKey, HEAD says NotFound). */
export const isMissing = (e: unknown) => ['NoSuchKey', 'NotFound'].includes((e as Error).name);
/** S3's answer to a conditional write (`ifAbsent`) when the object is there. */
export const isPresent = (e: unknown) => (e as Error).name === 'PreconditionFailed';
