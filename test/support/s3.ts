/** A bucket on moto, read straight from moto (never through a proxy a test is breaking). */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Moto } from '../../twin/moto.ts';

export type Bucket = {
  name: string;
  keys: (prefix: string) => Promise<string[]>;
  get: (key: string) => Promise<Buffer>;
  put: (key: string, body: string | Buffer) => Promise<void>;
  delete: (key: string) => Promise<void>;
};

export async function createBucket(moto: Moto, name: string): Promise<Bucket> {
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    keys: async (prefix) =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: name, Prefix: prefix }))).Contents ?? [])
        .map((o) => o.Key!)
        .sort(),
    get: async (key) =>
      Buffer.from(
        await (await s3.send(new GetObjectCommand({ Bucket: name, Key: key }))).Body!.transformToByteArray(),
      ),
    put: async (key, body) =>
      void (await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body }))),
    delete: async (key) => void (await s3.send(new DeleteObjectCommand({ Bucket: name, Key: key }))),
  };
}
