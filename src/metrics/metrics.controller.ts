import { Controller, Get, Header, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MetricsService } from './metrics.service';

/**
 * `GET /metrics` for the Prometheus scraper. Not behind admin auth, so it must not be reachable
 * from outside: expose it only on the internal network (or block it at the proxy).
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const body = await this.metrics.registry.metrics();
    void reply.header('Content-Type', this.metrics.registry.contentType);
    return body;
  }
}
