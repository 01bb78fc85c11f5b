import { Controller, Get, Header, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { RedisLinkState } from '../bus/redis-link';
import { ApiErrors, METRICS_SECURITY } from '../common/openapi';
import { AppConfig } from '../config/app-config';
import { bearerTokenMatches, collectProcessMetrics, METRICS_CONTENT_TYPE, scrapeMetrics } from './metrics-exposition';

/**
 * Prometheus exposition of prom-client's default registry: process metrics, the feed's and the
 * bus's counters, and the realtime metrics (src/realtime/realtime.metrics.ts; docs/operations.md,
 * "Metrics"). With METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>` (401 otherwise).
 */
@ApiTags('health')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisLinkState,
  ) {
    collectProcessMetrics();
  }

  @Get()
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  @ApiOperation({ summary: 'Prometheus metrics', description: 'Text exposition format. With METRICS_TOKEN set, send `Authorization: Bearer <METRICS_TOKEN>`.' })
  @ApiBearerAuth(METRICS_SECURITY)
  @ApiOkResponse({ description: 'Prometheus text exposition', content: { [METRICS_CONTENT_TYPE]: { schema: { type: 'string' } } } })
  @ApiErrors([401, 'METRICS_TOKEN is set and the request did not send it'])
  async metrics(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    const token = this.config.METRICS_TOKEN;
    if (token && !bearerTokenMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    return scrapeMetrics({ database: this.db, redis: this.redis });
  }
}
