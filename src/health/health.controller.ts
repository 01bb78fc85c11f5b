import { Controller, Get, HttpCode, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { MessageBus } from '../bus/message-bus';
import { RedisLinkState } from '../bus/redis-link';
import type { HealthLiveJson } from '../common/api-types';
import { ApiErrors } from '../common/openapi';
import { HealthLiveDto, ReadinessDto } from './health.responses.dto';
import { notReadyReasons, ReadinessReport, ReadinessService } from './readiness.service';

/**
 * Probes (docs/operations.md, "Probes"):
 *
 * - `GET /health`, liveness: the process answers. Always 200 while it does, with no database
 *   or Redis call (a database outage must not get a live process restarted); it shows the bus
 *   kind and the Redis link state as the process knows them (`status: "degraded"` while that
 *   link is down, still 200).
 * - `GET /health/ready`, readiness: the database answers within about a second and a half,
 *   Redis answers (REDIS_URL set), the price feed ran within READY_MAX_FEED_AGE seconds.
 *   200 `{status: "ready", checks, timestamp}`, or 503 in the API's error shape with the same
 *   fields in `details` (`status: "not_ready"`).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly bus: MessageBus,
    private readonly redis: RedisLinkState,
    private readonly readiness: ReadinessService,
  ) {}

  @Get()
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness', description: '200 while the process answers; no database or Redis call.' })
  @ApiOkResponse({ type: HealthLiveDto })
  live(@Res({ passthrough: true }) res: Response): HealthLiveJson {
    res.setHeader('Cache-Control', 'no-store');
    return {
      // 200 either way; `degraded` while the Redis link is down (prices from other processes do not arrive), as before.
      status: this.redis.status() === 'down' ? ('degraded' as const) : ('ok' as const),
      bus: this.bus.kind,
      redis: this.redis.status(),
      uptime_s: Math.round(process.uptime()),
      timestamp: new Date().toISOString(),
    };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Readiness',
    description: 'Database, Redis and price-feed freshness (READY_MAX_FEED_AGE). Not ready: 503 with the report in `details`.',
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiErrors([503, 'Not ready: `details` is the readiness report (status `not_ready`)'])
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadinessReport> {
    // Set first: the 503 leaves through the error filter with it.
    res.setHeader('Cache-Control', 'no-store');
    const report = await this.readiness.check();
    if (report.status === 'ready') return report;
    // The error filter keeps `message` and `details` of the body (one error shape for the whole API).
    throw new ServiceUnavailableException({ message: `Not ready: ${notReadyReasons(report.checks).join(', ')}`, details: report });
  }
}
