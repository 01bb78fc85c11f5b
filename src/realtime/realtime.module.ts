import { Module } from '@nestjs/common';
import { AssetsModule } from '../assets/assets.module';
import { AuthModule } from '../auth/auth.module';
import { PortfoliosModule } from '../portfolios/portfolios.module';
import { IntradayModule } from '../portfolios/intraday/intraday.module';
import { ValuationModule } from '../portfolios/valuation/valuation.module';
import { PriceFeedModule } from '../price-feed/price-feed.module';
import { AppConfig } from '../config/app-config';
import { RedisLinkState } from '../bus/redis-link';
import { ClusterPresence, LocalPresence } from './cluster/cluster-presence';
import { RedisClusterPresence } from './cluster/redis-cluster-presence';
import { RealtimeExceptionFilter } from './gateway/realtime-exception.filter';
import { RealtimeGateway } from './gateway/realtime.gateway';
import { ConnectionRegistry } from './hub/connection-registry';
import { HeartbeatService } from './hub/heartbeat.service';
import { InboundQueue } from './hub/inbound-queue';
import { MarketStatusWatcher } from './hub/market-status.watcher';
import { PortfolioSeriesPushes } from './hub/portfolio-series';
import { RealtimeHub } from './hub/realtime-hub.service';
import { RequestLane } from './hub/request-lane';
import { SubscriptionService } from './hub/subscription.service';
import { VendorStatusBoard } from './hub/vendor-status.board';
import { VendorStatusWatcher } from './hub/vendor-status.watcher';
import { RealtimeController } from './realtime.controller';
import { RealtimeDocsController } from './realtime-docs.controller';
import { RealtimeInfoService } from './realtime-info.service';
import { HandshakeService } from './transports/handshake.service';
import { RawWebSocketTransport } from './transports/raw-websocket.transport';
import { SocketIoTransport } from './transports/socketio.transport';
import { SseController } from './transports/sse.controller';
import { SseTransport } from './transports/sse.transport';

/**
 * Realtime hub, its gateway (one handler per client message type) and the transports
 * (raw WebSocket at /ws/realtime/, Socket.IO namespace /realtime, the Server-Sent Events
 * fallback at /realtime/sse with its controller), plus the guide's REST views.
 * Install RealtimeWsAdapter on the app (configureApp does): it serves both transports and
 * routes their messages to RealtimeGateway. See docs/architecture-realtime.md.
 */
@Module({
  imports: [AuthModule, AssetsModule, PortfoliosModule, ValuationModule, IntradayModule, PriceFeedModule],
  controllers: [RealtimeController, RealtimeDocsController, SseController],
  providers: [
    ConnectionRegistry,
    RealtimeHub,
    {
      // MAX_CONNECTIONS_PER_USER and /realtime/status/ across every API instance with REDIS_URL; this instance's own without.
      provide: ClusterPresence,
      inject: [AppConfig, ConnectionRegistry, RealtimeHub, RedisLinkState],
      useFactory: (config: AppConfig, registry: ConnectionRegistry, hub: RealtimeHub, link: RedisLinkState): ClusterPresence =>
        config.REDIS_URL ? new RedisClusterPresence(config, registry, hub, link) : new LocalPresence(config, registry, hub),
    },
    InboundQueue,
    RequestLane,
    SubscriptionService,
    PortfolioSeriesPushes,
    HeartbeatService,
    MarketStatusWatcher,
    VendorStatusBoard,
    VendorStatusWatcher,
    HandshakeService,
    RawWebSocketTransport,
    SocketIoTransport,
    SseTransport,
    RealtimeGateway,
    RealtimeExceptionFilter,
    RealtimeInfoService,
  ],
  exports: [RealtimeHub],
})
export class RealtimeModule {}
