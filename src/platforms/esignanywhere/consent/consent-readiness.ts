import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CONSENT_SETTINGS, type ConsentSettings } from './consent-settings';

/** Says at startup whether the consent pages can work, and what is missing when they cannot. */
@Injectable()
export class ConsentReadiness implements OnApplicationBootstrap {
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
