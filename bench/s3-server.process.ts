// s3rver (with the service's extensions) in a process of its own, as a remote S3 would be: a benchmark
// forks it, gets its endpoint over IPC, and kills it at the end.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedS3 } from '../src/storage/embedded-s3';

async function main(): Promise<void> {
  const s3 = await startEmbeddedS3(await mkdtemp(join(tmpdir(), 'bench-s3-')), { bucket: 'bench' });
  process.send?.({ endpoint: s3.endpoint });
  process.once('SIGTERM', () => void s3.stop().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
