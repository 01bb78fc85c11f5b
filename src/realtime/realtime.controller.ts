import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthenticatedGuard } from '../auth/guards/authenticated.guard';
import type { RealtimeHealthJson } from '../common/api-types';
import { ApiErrors, SESSION_SECURITY } from '../common/openapi';
import { PriceFeedStatus } from '../price-feed/feed/price-feed-status.service';
import { ClusterPresence } from './cluster/cluster-presence';
import { RealtimeInfoService, RequestView } from './realtime-info.service';
import { RealtimeHealthDto, RealtimeStatusDto, WebSocketInfoDto } from './realtime-rest.responses.dto';

/** The guide's REST: GET /realtime/websocket-info/, GET /realtime/status/ and GET /realtime/health/ (with or without the trailing slash). */
@ApiTags('realtime')
@Controller('realtime')
export class RealtimeController {
  constructor(
    private readonly info: RealtimeInfoService,
    private readonly presence: ClusterPresence,
    private readonly feed: PriceFeedStatus,
  ) {}

  @Get('websocket-info')
  @ApiOperation({
    summary: 'Where and how to connect',
    description: 'Socket URLs (from the request’s host), limits, message types. Also with a trailing slash.',
  })
  @ApiOkResponse({ type: WebSocketInfoDto })
  websocketInfo(@Req() req: Request) {
    return this.info.websocketInfo(view(req));
  }

  @Get('status')
  @ApiOperation({
    summary: 'Live counts',
    description: 'Connections and subscriptions of the whole service, the price feed; `user_stats` when logged in. Also with a trailing slash.',
  })
  @ApiOkResponse({ type: RealtimeStatusDto })
  async status(@Req() req: Request) {
    return this.info.status(view(req));
  }

  /**
   * The guide's health view (`@login_required`: 401 for an anonymous caller, like the API's other
   * authenticated endpoints). active_connections: open sockets of the whole service (every live
   * API instance with REDIS_URL, as in /realtime/status/). Probes for orchestrators: GET /health, /health/ready.
   */
  @Get('health')
  @UseGuards(AuthenticatedGuard)
  @ApiOperation({
    summary: 'The guide’s health view (logged in)',
    description: 'Probes for orchestrators: GET /health, GET /health/ready. Also with a trailing slash.',
  })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiOkResponse({ type: RealtimeHealthDto })
  @ApiErrors(401)
  async health(): Promise<RealtimeHealthJson> {
    const [stats, feed] = await Promise.all([this.presence.globalStats(), this.feed.snapshot()]);
    return { price_feed_running: feed.price_feed_running, active_connections: stats.total_connections, timestamp: new Date().toISOString() };
  }
}

function view(req: Request): RequestView {
  const sessionUser = (req.session as { passport?: { user?: unknown } } | undefined)?.passport?.user;
  const user = req.user as { id?: unknown } | undefined;
  const userId = typeof user?.id === 'number' ? user.id : typeof sessionUser === 'number' ? sessionUser : null;
  // Express 5: req.host keeps the port and honours X-Forwarded-Host behind a trusted proxy.
  return { host: req.host || 'localhost', secure: req.secure, userId };
}
