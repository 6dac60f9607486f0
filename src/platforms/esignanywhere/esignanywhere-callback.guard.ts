import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { esignAnywhereConfig, type EsignAnywhereConfig } from './esignanywhere.config';
import { secretsEqual } from '../../common/secrets';

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  return sep < 0 ? undefined : { user: decoded.slice(0, sep), password: decoded.slice(sep + 1) };
}

/**
 * Callback authentication, checked before anything else: a `token` query parameter equal to
 * CALLBACK_TOKEN, or HTTP Basic credentials (eSignAnyWhere's org-level callback authentication).
 * Fails closed; comparisons are constant-time.
 */
@Injectable()
export class EsignAnywhereCallbackGuard implements CanActivate {
  constructor(@Inject(esignAnywhereConfig.KEY) private readonly config: EsignAnywhereConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const { CALLBACK_TOKEN, CALLBACK_BASIC_USER, CALLBACK_BASIC_PASSWORD, CALLBACK_AUTH } = this.config;
    if (!CALLBACK_TOKEN && !CALLBACK_BASIC_USER) {
      if (CALLBACK_AUTH === 'none') return true;
      throw new UnauthorizedException('callback authentication is not configured');
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    let ok = false;

    const token = (request.query as Record<string, unknown> | undefined)?.token;
    if (CALLBACK_TOKEN && typeof token === 'string') ok = secretsEqual(token, CALLBACK_TOKEN);

    const basic = basicCredentials(request.headers.authorization);
    if (!ok && CALLBACK_BASIC_USER && CALLBACK_BASIC_PASSWORD && basic) {
      // Evaluate both halves so timing does not tell which one was wrong.
      const userOk = secretsEqual(basic.user, CALLBACK_BASIC_USER);
      const passwordOk = secretsEqual(basic.password, CALLBACK_BASIC_PASSWORD);
      ok = userOk && passwordOk;
    }
    if (!ok) {
      if (CALLBACK_BASIC_USER) {
        context
          .switchToHttp()
          .getResponse<FastifyReply>()
          .header('WWW-Authenticate', 'Basic realm="callbacks"');
      }
      throw new UnauthorizedException('missing or wrong callback credentials');
    }
    return true;
  }
}
