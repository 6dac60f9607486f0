import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
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
  /** Test faults: the next `count` writes to keys starting with `keyPrefix` store one byte flipped. */
  corruptNextWrites(count: number, keyPrefix?: string): void;
  stop(): Promise<void>;
}

export interface EmbeddedS3Options {
  bucket?: string;
  /** 0 (the default) lets the kernel pick a free port. */
  port?: number;
  /**
   * Features of real stores this one has by default; tests turn them off to play a store without:
   * the sha256 of the stored bytes on HEAD with `x-amz-checksum-mode: ENABLED`; `If-None-Match` and
   * `If-Match` on writes; ListMultipartUploads (else 501 NotImplemented).
   */
  features?: { checksums?: boolean; conditionalWrites?: boolean; listUploads?: boolean };
}

interface CorruptionFault {
  count: number;
  keyPrefix: string;
}

/**
 * Starts s3rver, an S3 protocol server keeping objects in `dir`, on loopback, silent, with the
 * bucket created. For development, demos and tests when no S3_ENDPOINT is configured.
 *
 * s3rver 3.7 lacks ListMultipartUploads and AbortMultipartUpload, which the store relies on to
 * leave nothing behind after a failed upload; ignores the tags a PutObject or CopyObject carries
 * in `x-amz-tagging`; ignores `If-None-Match`/`If-Match` on writes; and reports no checksum of
 * what it stores. These are added here over s3rver's own files. The checksum it reports is
 * computed from the stored file at the time of asking, so it catches bytes that changed on the
 * way in or at rest.
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
  const features = { checksums: true, conditionalWrites: true, listUploads: true, ...options.features };
  const corruption: CorruptionFault = { count: 0, keyPrefix: '' };
  server.middleware.splice(
    server.middleware.length - 1,
    0,
    multipartUploadExtension(features.listUploads),
    checksumExtension(features.checksums),
    objectWriteExtension(features.conditionalWrites, corruption),
  );
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    region: 'us-east-1',
    ...EMBEDDED_S3_CREDENTIALS,
    directory,
    corruptNextWrites(count, keyPrefix = '') {
      corruption.count = count;
      corruption.keyPrefix = keyPrefix;
    },
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

function multipartUploadExtension(listing: boolean): S3rver.Middleware {
  const authenticate = authentication();
  return async (ctx, next) => {
    const { bucket, key } = bucketAndKey(ctx);
    const uploadId = ctx.query.uploadId;
    let handler: ((ctx: S3rver.Context) => Promise<void>) | undefined;
    if (ctx.method === 'GET' && bucket !== '' && key === '' && 'uploads' in ctx.query) {
      handler = listing
        ? (c) => listUploads(c, bucket)
        : () => Promise.reject(new S3Error('NotImplemented', 'ListMultipartUploads is not implemented'));
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
 * Writes of a whole object (PutObject, CopyObject) as S3 does them:
 * - `If-None-Match: *` refuses (412) when the key holds an object, `If-Match: <etag>` when it does
 *   not hold that one; writes to one key are serialised so the check and the write are one step;
 * - `x-amz-tagging` is stored with the object (for a copy with `x-amz-tagging-directive: REPLACE`;
 *   a plain copy takes the source's tags); a write without tags leaves the object untagged, as S3
 *   does not keep an overwritten object's tags.
 */
function objectWriteExtension(conditional: boolean, corruption: CorruptionFault): S3rver.Middleware {
  const locks = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const { bucket, key } = bucketAndKey(ctx);
    const write =
      ctx.method === 'PUT' &&
      bucket !== '' &&
      key !== '' &&
      // The SDK names its operation in `x-id`; any other parameter is a subresource or a part.
      Object.keys(ctx.query).every((name) => name === 'x-id');
    if (!write) return next();
    const copySource = ctx.get('x-amz-copy-source');
    const directive = ctx.get('x-amz-tagging-directive').toUpperCase();
    const header = ctx.get('x-amz-tagging');
    // Checked before the body is stored: a bad tag set stores nothing, as on S3.
    const xml = header === '' ? undefined : taggingXml(header);
    const lockKey = `${bucket}/${key}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolveLock) => (release = resolveLock));
    const chained = previous.then(() => mine);
    locks.set(lockKey, chained);
    await previous;
    try {
      if (conditional) await checkWriteConditions(ctx, bucket, key);
      await next();
      if (ctx.status !== 200) return;
      if (copySource !== '' && directive !== 'REPLACE') {
        const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]);
        const [srcBucket = '', ...srcKey] = source.split('/');
        const tags = await ctx.store.getSubresource(srcBucket, srcKey.join('/'), 'tagging');
        if (tags) await ctx.store.putSubresource(bucket, key, { type: 'tagging', toXML: () => tags.toXML() });
        else await ctx.store.deleteSubresource(bucket, key, 'tagging');
      } else if (xml) {
        // Stored as s3rver stores a PutObjectTagging body, where its GetObjectTagging reads it.
        await ctx.store.putSubresource(bucket, key, { type: 'tagging', toXML: () => xml });
      } else {
        await ctx.store.deleteSubresource(bucket, key, 'tagging');
      }
      if (corruption.count > 0 && key.startsWith(corruption.keyPrefix)) {
        corruption.count -= 1;
        await flipOneByte(ctx.store.getResourcePath(bucket, key, 'object'));
      }
    } finally {
      release();
      if (locks.get(lockKey) === chained) locks.delete(lockKey);
    }
  };
}

async function checkWriteConditions(ctx: S3rver.Context, bucket: string, key: string): Promise<void> {
  const ifNoneMatch = ctx.get('if-none-match').trim();
  const ifMatch = ctx.get('if-match').trim();
  if (ifNoneMatch === '' && ifMatch === '') return;
  const failed = (condition: string) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    });
  const exists = await ctx.store.existsObject(bucket, key);
  if (ifNoneMatch === '*' && exists) throw failed('If-None-Match');
  if (ifMatch !== '') {
    if (!exists) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    const { etag } = await ctx.store.getMetadata(bucket, key);
    const bare = (tag: string) => tag.replace(/"/g, '').toLowerCase();
    if (ifMatch !== '*' && bare(ifMatch) !== bare(etag)) throw failed('If-Match');
  }
}

/** Damages a stored object the way a bad disk would: one bit of its middle byte flipped. */
async function flipOneByte(path: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    if (size === 0) return;
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, at);
    byte[0] ^= 0x01;
    await file.write(byte, 0, 1, at);
  } finally {
    await file.close();
  }
}

/**
 * HEAD with `x-amz-checksum-mode: ENABLED` answers with the full-object sha256 of the bytes the
 * store holds now, read from its file, as AWS reports the checksum of a stored object.
 */
function checksumExtension(enabled: boolean): S3rver.Middleware {
  return async (ctx, next) => {
    await next();
    if (!enabled || ctx.method !== 'HEAD' || ctx.status !== 200) return;
    if (ctx.get('x-amz-checksum-mode').toUpperCase() !== 'ENABLED') return;
    const { bucket, key } = bucketAndKey(ctx);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(ctx.store.getResourcePath(bucket, key, 'object')))
      hash.update(chunk as Buffer);
    ctx.set('x-amz-checksum-sha256', hash.digest('base64'));
    ctx.set('x-amz-checksum-type', 'FULL_OBJECT');
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
