import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadSections } from '../config/app-config';
import { databaseConfig, serviceConfig, tokensConfig } from '../config/config.schema';
import { buildDataSourceOptions } from '../database/data-source-options';
import { resolveDatabase } from '../database/database-url';
import { TokenCipher, TokenCipherError } from './token-cipher';
import { rotateTokenKeys } from './token-key-rotation';

// `npm run rotate-keys`: re-encrypts every stored sender token under the first key of
// TOKEN_ENCRYPTION_KEYS. Run it with the service's environment after putting a new key first; remove an
// old key from the ring only once a run reports nothing remaining under it. Prints counts and sender
// row ids, never a token. Exit codes: 0 all tokens under the primary key, 1 some remain, 78 bad config.

const EX_CONFIG = 78;

async function main(): Promise<number> {
  let config;
  let cipher: TokenCipher;
  try {
    config = loadSections({ database: databaseConfig, service: serviceConfig, tokens: tokensConfig });
    cipher = new TokenCipher(config.tokens);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TokenCipherError) {
      console.error(error.message);
      return EX_CONFIG;
    }
    throw error;
  }
  if (!cipher.configured) {
    console.error('TOKEN_ENCRYPTION_KEYS is not set: there is no key to rotate to');
    return EX_CONFIG;
  }

  const db = await resolveDatabase({ ...config.database, DATA_DIR: config.service.DATA_DIR }, (m) =>
    console.log(m),
  );
  const dataSource = new DataSource(buildDataSourceOptions(db.url, config.database));
  try {
    await dataSource.initialize();
    console.log(`rotate-keys: re-encrypting sender tokens under key ${cipher.primaryKeyId}`);
    const report = await rotateTokenKeys(dataSource, cipher, {
      onBatch: (p) => console.log(`rotate-keys: ${p.examined} examined, ${p.rotated} rotated so far`),
    });
    for (const u of report.unreadable) {
      console.error(
        `rotate-keys: sender row ${u.senderId}: token under key ${u.keyId ?? '(none)'} is unreadable (${u.reason})`,
      );
    }
    console.log(
      `rotate-keys: primary key ${report.primaryKeyId}: ${report.examined} examined, ${report.rotated} rotated, ` +
        `${report.changedMeanwhile} changed meanwhile, ${report.unreadable.length} unreadable, ${report.remaining} remaining`,
    );
    return report.remaining === 0 ? 0 : 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.embedded?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`rotate-keys failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
