import {
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../../common/secrets';
import { ONESPAN_INSTANCES_BY_ROUTE, type OneSpanInstancesByRoute } from './onespan.tokens';

/**
 * Authenticates a OneSpan or Conga callback, before anything else, as its instance is configured:
 * OneSpan's callback key (`Authorization: Basic <key>`, the key itself), Conga's Basic user and password,
 * or Conga's Bearer token. Comparisons are constant-time; a route whose instance is not configured is 404.
 */
@Injectable()
export class OneSpanCallbackGuard implements CanActivate {
  constructor(@Inject(ONESPAN_INSTANCES_BY_ROUTE) private readonly instances: OneSpanInstancesByRoute) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const route = (request.routeOptions.url ?? '').replace(/^\/callbacks\//, '');
    const instance = this.instances.get(route);
    if (!instance) throw new NotFoundException('this platform is not configured');
    const auth = instance.callbackAuth;
    if (auth.kind === 'none') return true;
    const header = request.headers.authorization ?? '';
    let ok: boolean;
    if (auth.kind === 'key') {
      const match = /^Basic (.+)$/.exec(header);
      ok = match !== null && secretsEqual(match[1].trim(), auth.key);
    } else if (auth.kind === 'bearer') {
      const match = /^Bearer (.+)$/i.exec(header);
      ok = match !== null && secretsEqual(match[1].trim(), auth.token);
    } else {
      const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
      const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
      const sep = decoded.indexOf(':');
      // Both halves are compared, so timing does not tell which one was wrong.
      const userOk = secretsEqual(sep < 0 ? '' : decoded.slice(0, sep), auth.user);
      const passwordOk = secretsEqual(sep < 0 ? '' : decoded.slice(sep + 1), auth.password);
      ok = sep >= 0 && userOk && passwordOk;
    }
    if (!ok) throw new UnauthorizedException('missing or wrong callback credentials');
    return true;
  }
}
