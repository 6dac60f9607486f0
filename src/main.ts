import 'reflect-metadata';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';
import { createRootLogger, PinoLoggerService } from './common/pino-logger';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = new PinoLoggerService(createRootLogger(config.LOG_LEVEL));
  const app = await createApp(config, logger);
  await app.listen(config.PORT, config.HOST);
  logger.log(`listening on ${await app.getUrl()}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(`startup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
