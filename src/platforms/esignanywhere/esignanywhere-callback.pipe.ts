import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { parseEsawCallback, type ValidEsawCallback } from './esignanywhere-callback.parser';

/** Turns the raw callback query into a validated callback, or a 400 with a short reason. */
@Injectable()
export class EsignAnywhereCallbackPipe implements PipeTransform<unknown, ValidEsawCallback> {
  transform(query: unknown): ValidEsawCallback {
    const parsed = parseEsawCallback(
      typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {},
    );
    if (!parsed.ok) throw new BadRequestException(parsed.reason);
    return parsed;
  }
}
