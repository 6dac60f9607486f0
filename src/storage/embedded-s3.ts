import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import S3rver from 's3rver';
import authentication from 's3rver/lib/middleware/authentication';
import S3Error from 's3rver/lib/models/error';

/** The key pair s3rver accepts. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const DEFAULT_EMBEDDED_BUCKET = 'esign-archive';

export interface EmbeddedS3 {
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps the bucket's files. */
  directory: string;
  stop(): Promise<void>;
}

export interface EmbeddedS3Options {
  bucket?: string;
  /** 0 (the default) lets the kernel pick a free port. */
  port?: number;
}

/**
 * Starts s3rver, an S3 protocol server keeping objects in `dir`, on loopback, silent, with the
 * bucket created. For development, demos and tests when no S3_ENDPOINT is configured.
 *
 * s3rver 3.7 lacks ListMultipartUploads and AbortMultipartUpload, which the store relies on to
 * leave nothing behind after a failed upload, and ignores the tags a PutObject carries in its
 * `x-amz-tagging` header, which the store sends to tag a document in the same request; these are
 * added here over s3rver's own files.
 */
export async function startEmbeddedS3(dir: string, options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const directory = resolve(dir);
  await mkdir(directory, { recursive: true });
  const bucket = options.bucket ?? DEFAULT_EMBEDDED_BUCKET;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  // The router is the last middleware; the extension goes just before it, behind s3rver's XML
  // encoding and error handling.
  server.middleware.splice(
    server.middleware.length - 1,
    0,
    multipartUploadExtension(),
    taggingOnPutExtension(),
  );
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    region: 'us-east-1',
    ...EMBEDDED_S3_CREDENTIALS,
    directory,
    stop: () => stopServer(server),
  };
}

async function stopServer(server: S3rver): Promise<void> {
  const http = server.httpServer;
  if (!http?.listening) return;
  const closed = server.close();
  http.closeIdleConnections();
  // Requests still running get a moment to finish, then their sockets are cut.
  const force = setTimeout(() => http.closeAllConnections(), 1_000);
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = { ID: '123456789000', DisplayName: 'S3rver' };

function multipartUploadExtension(): S3rver.Middleware {
  const authenticate = authentication();
  return async (ctx, next) => {
    const { bucket, key } = bucketAndKey(ctx);
    const uploadId = ctx.query.uploadId;
    let handler: ((ctx: S3rver.Context) => Promise<void>) | undefined;
    if (ctx.method === 'GET' && bucket !== '' && key === '' && 'uploads' in ctx.query) {
      handler = (c) => listUploads(c, bucket);
    } else if (ctx.method === 'DELETE' && bucket !== '' && key !== '' && typeof uploadId === 'string') {
      handler = (c) => abortUpload(c, bucket, key, uploadId);
    }
    if (handler === undefined) return next();
    ctx.params = { bucket, key: key === '' ? undefined : key };
    const run = handler;
    await authenticate(ctx, async () => {
      if (!(await ctx.store.getBucket(bucket))) {
        throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      }
      await run(ctx);
    });
  };
}

/** `/bucket/key` of the request, decoded. */
function bucketAndKey(ctx: S3rver.Context): { bucket: string; key: string } {
  const [bucket = '', ...rest] = ctx.path.split('/').slice(1).map(decodePathSegment);
  return { bucket, key: rest.join('/') };
}

/**
 * PutObject with `x-amz-tagging: k1=v1&k2=v2` stores those tags with the object, as S3 does; a
 * PutObject without the header leaves the new object untagged (S3 does not keep an overwritten
 * object's tags). Copies and multipart uploads keep s3rver's own behaviour.
 */
function taggingOnPutExtension(): S3rver.Middleware {
  return async (ctx, next) => {
    const { bucket, key } = bucketAndKey(ctx);
    const plainPut =
      ctx.method === 'PUT' &&
      bucket !== '' &&
      key !== '' &&
      // The SDK names its operation in `x-id`; any other parameter is a subresource or a part.
      Object.keys(ctx.query).every((name) => name === 'x-id') &&
      !ctx.get('x-amz-copy-source');
    if (!plainPut) return next();
    const header = ctx.get('x-amz-tagging');
    // Checked before the body is stored: a bad tag set stores nothing, as on S3.
    const xml = header === '' ? undefined : taggingXml(header);
    await next();
    if (ctx.status !== 200) return;
    // Stored as s3rver stores a PutObjectTagging body, where its GetObjectTagging reads it.
    if (xml) await ctx.store.putSubresource(bucket, key, { type: 'tagging', toXML: () => xml });
    else await ctx.store.deleteSubresource(bucket, key, 'tagging');
  };
}

/** The XML body of PutObjectTagging for an `x-amz-tagging` header, after S3's checks of the tag set. */
function taggingXml(header: string): string {
  const invalid = (message: string) => new S3Error('InvalidTag', message);
  const tags = [...new URLSearchParams(header)];
  if (tags.length > 10) throw invalid('Object tags cannot be greater than 10');
  const keys = new Set<string>();
  for (const [k, v] of tags) {
    if (k.length === 0 || k.length > 128) throw invalid('The TagKey you have provided is invalid');
    if (v.length > 256) throw invalid('The TagValue you have provided is invalid');
    if (keys.has(k)) throw invalid('Cannot provide multiple Tags with the same key');
    keys.add(k);
  }
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const set = tags.map(([k, v]) => `<Tag><Key>${escape(k)}</Key><Value>${escape(v)}</Value></Tag>`);
  return `<Tagging><TagSet>${set.join('')}</TagSet></Tagging>`;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function listUploads(ctx: S3rver.Context, bucket: string): Promise<void> {
  const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
  const uploadsDir = ctx.store.getResourcePath(bucket, undefined, 'uploads');
  const ids = await readdir(uploadsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const uploads: { Key: string; UploadId: string; Initiated: Date }[] = [];
  for (const id of ids) {
    if (!UPLOAD_ID.test(id)) continue;
    const key = await readFile(join(uploadsDir, id, 'key'), 'utf8').catch(() => undefined);
    if (key === undefined || !key.startsWith(prefix)) continue;
    const { birthtime } = await stat(join(uploadsDir, id));
    uploads.push({ Key: key, UploadId: id, Initiated: birthtime });
  }
  uploads.sort((a, b) =>
    a.Key === b.Key ? a.Initiated.getTime() - b.Initiated.getTime() : a.Key < b.Key ? -1 : 1,
  );
  ctx.body = {
    ListMultipartUploadsResult: {
      '@': { xmlns: S3_XMLNS },
      Bucket: bucket,
      KeyMarker: '',
      UploadIdMarker: '',
      Prefix: prefix,
      MaxUploads: 1000,
      IsTruncated: false,
      Upload: uploads.map((upload) => ({
        Key: upload.Key,
        UploadId: upload.UploadId,
        Initiator: OWNER,
        Owner: OWNER,
        StorageClass: 'STANDARD',
        Initiated: upload.Initiated.toISOString(),
      })),
    },
  };
}

async function abortUpload(
  ctx: S3rver.Context,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  const noSuchUpload = () =>
    new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
  if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload();
  const uploadDir = join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const storedKey = await readFile(join(uploadDir, 'key'), 'utf8').catch(() => undefined);
  if (storedKey !== key) throw noSuchUpload();
  await rm(uploadDir, { recursive: true, force: true });
  ctx.body = null;
  ctx.status = 204;
}
