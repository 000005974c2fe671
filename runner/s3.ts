/**
 * The one S3 client of the runner. It follows the standard AWS settings (credentials chain,
 * AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL); with a custom endpoint it uses
 * path-style addressing, which S3-compatible servers (MinIO, moto) need.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export type S3Location = { bucket: string; key: string };

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}

export const s3Uri = ({ bucket, key }: S3Location) => `s3://${bucket}/${key}`;

/** The object `name` under a prefix URI such as s3://bucket/results/ (the final "/" optional). */
export function objectUnder(prefixUri: string, name: string): S3Location {
  const { bucket, key } = parseS3Uri(prefixUri);
  return { bucket, key: `${key === '' || key.endsWith('/') ? key : `${key}/`}${name}` };
}

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

export async function getObjectBytes(loc: S3Location): Promise<Buffer> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function putObjectBytes(loc: S3Location, body: Buffer, contentType: string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }));
}
