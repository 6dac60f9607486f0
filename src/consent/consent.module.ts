import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { EsignAnywhereModule } from '../platforms/esignanywhere/esignanywhere.module';
import { SendersModule } from '../senders/senders.module';
import { BeforeSendController } from './before-send.controller';
import { BrowserBinding } from './browser-binding';
import { ConsentConfiguredGuard } from './consent-configured.guard';
import { ConsentExceptionFilter } from './consent-exception.filter';
import { CONSENT_SETTINGS, consentSettingsFromConfig, type ConsentSettings } from './consent-settings';
import { ConsentController } from './consent.controller';
import { ConsentService } from './consent.service';
import { OAuthStateRepository } from './oauth-state.repository';

@Module({
  imports: [SendersModule, EsignAnywhereModule],
  controllers: [BeforeSendController, ConsentController],
  providers: [
    {
      provide: CONSENT_SETTINGS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => consentSettingsFromConfig(config),
    },
    ConsentConfiguredGuard,
    ConsentExceptionFilter,
    BrowserBinding,
    OAuthStateRepository,
    ConsentService,
  ],
})
export class ConsentModule implements OnApplicationBootstrap {
  constructor(@Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings) {}

  onApplicationBootstrap(): void {
    const logger = new Logger('Consent');
    if (this.settings.missing.length > 0) {
      logger.warn(`consent routes answer 503 until these are set: ${this.settings.missing.join(', ')}`);
    } else {
      logger.log(`consent routes ready; OAuth redirect URI ${this.settings.redirectUri}`);
    }
  }
}
