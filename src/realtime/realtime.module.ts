import { Module } from '@nestjs/common';
import { AssetsModule } from '../assets/assets.module';
import { AuthModule } from '../auth/auth.module';
import { PortfoliosModule } from '../portfolios/portfolios.module';
import { ValuationModule } from '../portfolios/valuation/valuation.module';
import { PriceFeedModule } from '../price-feed/price-feed.module';
import { ConnectionRegistry } from './hub/connection-registry';
import { HeartbeatService } from './hub/heartbeat.service';
import { MessageRouter } from './hub/message-router.service';
import { RealtimeHub } from './hub/realtime-hub.service';
import { RealtimeController } from './realtime.controller';
import { RealtimeInfoService } from './realtime-info.service';
import { HandshakeService } from './transports/handshake.service';
import { RawWebSocketTransport } from './transports/raw-websocket.transport';
import { RealtimeGateway } from './transports/realtime.gateway';
import { SocketIoTransport } from './transports/socketio.transport';

/**
 * Realtime hub and its two transports (raw WebSocket at /ws/realtime/,
 * Socket.IO namespace /realtime), plus the guide's REST views.
 * Install RealtimeIoAdapter on the app (configureApp does).
 */
@Module({
  imports: [AuthModule, AssetsModule, PortfoliosModule, ValuationModule, PriceFeedModule],
  controllers: [RealtimeController],
  providers: [
    ConnectionRegistry,
    RealtimeHub,
    MessageRouter,
    HeartbeatService,
    HandshakeService,
    RawWebSocketTransport,
    SocketIoTransport,
    RealtimeGateway,
    RealtimeInfoService,
  ],
  exports: [RealtimeHub],
})
export class RealtimeModule {}
