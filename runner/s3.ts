/**
 * The one S3 client of the runner. It follows the standard AWS settings (credentials chain,
 * AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL); with a custom endpoint it uses
 * path-style addressing, which S3-compatible servers (MinIO, moto) need.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Location } from './uri.ts';

let client: S3Client | undefined;

export function s3Client(env = process.env): S3Client {
  if (client) return client;
  const customEndpoint = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  client = new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: customEndpoint,
    // Without these the SDK frames streamed bodies as aws-chunked, which some
    // S3-compatible servers store verbatim inside the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Our own retry loop (publish.ts) logs each attempt; the SDK's stays short.
    maxAttempts: 2,
  });
  return client;
}

/** `signal` abandons the request (a stop, or a bound on a best-effort upload). */
export async function getObjectBytes(loc: S3Location, signal?: AbortSignal): Promise<Buffer> {
  const get = new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key });
  const out = await s3Client().send(get, { abortSignal: signal });
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function putObjectBytes(
  loc: S3Location,
  body: Buffer,
  contentType: string,
  signal?: AbortSignal,
): Promise<void> {
  const { bucket: Bucket, key: Key } = loc;
  const put = new PutObjectCommand({ Bucket, Key, Body: body, ContentType: contentType });
  await s3Client().send(put, { abortSignal: signal });
}

/** S3's answer when the object is not there (GetObject says NoSuchKey, HEAD says NotFound). */
export const isMissing = (e: unknown) => ['NoSuchKey', 'NotFound'].includes((e as Error).name);
