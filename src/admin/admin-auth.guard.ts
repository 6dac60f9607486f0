import {
  createParamDecorator,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findBySecret } from '../common/secrets';
import type { AdminConfig } from '../config/app-config';
import { adminConfig } from '../config/config.schema';

/** Where the guard leaves the name of the admin token that authenticated the request. */
const ADMIN_ACTOR = Symbol('adminActor');

type AdminRequest = FastifyRequest & { [ADMIN_ACTOR]?: string };

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * Admin authentication, checked before anything else: `Authorization: Bearer <secret>` where the
 * secret is one of ADMIN_TOKENS (compared in constant time). Without configured tokens every
 * request is refused. The token's name becomes the actor recorded with every admin action.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly logger = new Logger('AdminAuth');

  constructor(@Inject(adminConfig.KEY) private readonly config: AdminConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<AdminRequest>();
    const refuse = (message: string): never => {
      // Never the presented credentials: only where the attempt came from and what it asked for.
      this.logger.warn({
        msg: `admin request refused: ${message}`,
        ip: request.ip,
        method: request.method,
        path: request.url.split('?')[0],
      });
      void http.getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer realm="admin"');
      throw new UnauthorizedException(message);
    };
    if (this.config.ADMIN_TOKENS.length === 0) {
      return refuse('admin access is disabled: ADMIN_TOKENS is not configured');
    }
    const match = BEARER.exec(request.headers.authorization ?? '');
    const entry = match ? findBySecret(match[1], this.config.ADMIN_TOKENS) : undefined;
    if (!entry) return refuse('missing or wrong admin token');
    request[ADMIN_ACTOR] = entry.name;
    return true;
  }
}

/** The name of the admin token that authenticated the request (see `AdminAuthGuard`). */
export const AdminActor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const actor = context.switchToHttp().getRequest<AdminRequest>()[ADMIN_ACTOR];
  // Reaching a handler without the guard is a wiring defect; refuse rather than act anonymously.
  if (actor === undefined) throw new Error('AdminActor used on a route without AdminAuthGuard');
  return actor;
});
