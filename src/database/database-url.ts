import { join } from 'node:path';
import type { DatabaseConfig, ServiceConfig } from '../config/app-config';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  embedded?: EmbeddedPostgresHandle;
}

/** DATABASE_URL when set; otherwise an embedded PostgreSQL with its data under DATA_DIR/postgres. */
export async function resolveDatabase(
  config: Pick<DatabaseConfig, 'DATABASE_URL'> & Pick<ServiceConfig, 'DATA_DIR'>,
  log: (message: string) => void,
): Promise<ResolvedDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const dir = join(config.DATA_DIR, 'postgres');
  const embedded = await startEmbeddedPostgres(dir);
  log(
    `DATABASE_URL is not set: started an embedded PostgreSQL on 127.0.0.1:${embedded.port} (data in ${dir})`,
  );
  return { url: embedded.url, embedded };
}
