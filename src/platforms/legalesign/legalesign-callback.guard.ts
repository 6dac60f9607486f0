import {
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../../common/secrets';
import { callbackStyle } from './legalesign-callback.parser';
import { verifiedAlgorithm } from './legalesign-signature';
import { LEGALESIGN_INSTANCE, type LegalesignInstanceRef } from './legalesign.tokens';

/** Where the guard leaves the algorithm that verified a batch, for the batch's record. */
export const VERIFIED_ALGORITHM = Symbol('legalesignVerifiedAlgorithm');
export type VerifiedRequest = FastifyRequest & { [VERIFIED_ALGORITHM]?: string };

/**
 * Authenticates a Legalesign callback before anything is noted: a batch by its signature, checked with
 * the configured certificate (nothing else can vouch for its data); a realtime or "signed" callback by
 * the secret token in its URL (`?token=`), compared in constant time. A route whose platform is not
 * configured is 404.
 */
@Injectable()
export class LegalesignCallbackGuard implements CanActivate {
  private readonly logger = new Logger('LegalesignCallback');

  constructor(@Inject(LEGALESIGN_INSTANCE) private readonly instance: LegalesignInstanceRef) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.instance) throw new NotFoundException('this platform is not configured');
    const auth = this.instance.callbackAuth;
    if (auth.kind === 'none') return true;
    const request = context.switchToHttp().getRequest<VerifiedRequest>();
    const style = callbackStyle(request.body);
    if (!('error' in style) && style.style === 'batch') {
      const algorithm = verifiedAlgorithm(style.data, style.signature, auth.certificate.publicKey);
      if (!algorithm) {
        this.logger.warn(
          'refused a batched callback whose signature does not verify with LEGALESIGN_CALLBACK_CERT',
        );
        throw new UnauthorizedException('the batch signature does not verify');
      }
      request[VERIFIED_ALGORITHM] = algorithm;
      return true;
    }
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || !secretsEqual(token, auth.token)) {
      throw new UnauthorizedException('missing or wrong callback token');
    }
    return true;
  }
}
