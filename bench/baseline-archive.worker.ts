// The yardstick for the archive benchmark: stream the same files from the simulator into s3rver with
// the same SDK and part size, four envelopes at a time, and no bookkeeping at all.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

interface Job {
  simBaseUrl: string;
  token: string;
  endpoint: string;
  bucket: string;
  partSizeMb: number;
  concurrency: number;
  envelopes: { id: string; fileIds: string[] }[];
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Job;
  const client = new S3Client({
    endpoint: job.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // The same client settings as the service's store.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const started = Date.now();
  let next = 0;
  const run = async () => {
    while (next < job.envelopes.length) {
      const envelope = job.envelopes[next++];
      for (const fileId of envelope.fileIds) {
        const res = await fetch(`${job.simBaseUrl}/v6/file/${fileId}`, { headers: { ApiToken: job.token } });
        if (!res.ok || !res.body) throw new Error(`download of ${fileId} failed: ${res.status}`);
        await new Upload({
          client,
          params: {
            Bucket: job.bucket,
            Key: `baseline/${envelope.id}/${fileId}`,
            Body: Readable.fromWeb(res.body as never),
          },
          partSize: job.partSizeMb * 1024 * 1024,
          queueSize: 2,
        }).done();
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, run));
  process.send?.({ ms: Date.now() - started });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
