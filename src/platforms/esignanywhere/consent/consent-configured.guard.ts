import { Inject, Injectable, type CanActivate } from '@nestjs/common';
import { ConsentError, ConsentErrorCode } from './consent-error';
import { CONSENT_SETTINGS, type ConsentSettings } from './consent-settings';

/**
 * Runs first on every consent route: without keys to seal tokens, an OAuth client or a public URL the
 * routes answer 503 "consent is not configured", and the rest of the service carries on.
 */
@Injectable()
export class ConsentConfiguredGuard implements CanActivate {
  constructor(@Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings) {}

  canActivate(): boolean {
    if (this.settings.missing.length > 0) {
      throw new ConsentError(
        ConsentErrorCode.NOT_CONFIGURED,
        `consent route called but consent is not configured (missing: ${this.settings.missing.join(', ')})`,
      );
    }
    return true;
  }
}
