import { UseFilters, UseGuards } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import type { Connection } from '../hub/connection';
import type { InboundRequest } from '../hub/inbound-request';
import { SubscriptionService } from '../hub/subscription.service';
import type { ClientMessageOf } from '../protocol/client-messages';
import { ClientMessageBody, ClientMessageHandlers, OnClientMessage, WsConnection, WsRequest } from './client-message-handlers';
import { PortfolioOwnerWsGuard } from './portfolio-owner.ws-guard';
import { RealtimeExceptionFilter } from './realtime-exception.filter';

/**
 * The realtime gateway: one handler per client message type, for both transports (raw
 * WebSocket at /ws/realtime/ and Socket.IO namespace /realtime, served on the app's HTTP
 * server by RealtimeWsAdapter, which routes each message by its `type` to the handler here
 * and sends the returned reply). Each message goes through Nest's pipeline: guards
 * (PortfolioOwnerWsGuard on subscribe_portfolio), ClientMessagePipe (the type's DTO, else
 * VALIDATION_FAILED), the handler, and RealtimeExceptionFilter for every error.
 *
 * Thin: each handler calls SubscriptionService. The typed handler map (ClientMessageHandlers)
 * makes every message type of protocol/client-messages.ts a handler here, with its message
 * type and its reply type. Connection lifecycle (open, close, limits) stays with the
 * transports and the hub, so no handleConnection / handleDisconnect.
 */
@WebSocketGateway()
@UseFilters(RealtimeExceptionFilter)
export class RealtimeGateway implements ClientMessageHandlers {
  constructor(private readonly subscriptions: SubscriptionService) {}

  @OnClientMessage('ping')
  ping(@ClientMessageBody() _msg: ClientMessageOf<'ping'>, @WsConnection() conn: Connection) {
    return this.subscriptions.ping(conn);
  }

  @OnClientMessage('subscribe_asset')
  subscribeAsset(@ClientMessageBody() msg: ClientMessageOf<'subscribe_asset'>, @WsConnection() conn: Connection, @WsRequest() req: InboundRequest) {
    return this.subscriptions.subscribeAssets(conn, msg.data, req);
  }

  @OnClientMessage('unsubscribe_asset')
  unsubscribeAsset(@ClientMessageBody() msg: ClientMessageOf<'unsubscribe_asset'>, @WsConnection() conn: Connection) {
    return this.subscriptions.unsubscribeAssets(conn, msg.data);
  }

  @OnClientMessage('subscribe_portfolio')
  @UseGuards(PortfolioOwnerWsGuard)
  subscribePortfolio(@ClientMessageBody() msg: ClientMessageOf<'subscribe_portfolio'>, @WsConnection() conn: Connection, @WsRequest() req: InboundRequest) {
    return this.subscriptions.subscribePortfolio(conn, msg.data, req);
  }

  @OnClientMessage('unsubscribe_portfolio')
  unsubscribePortfolio(@ClientMessageBody() msg: ClientMessageOf<'unsubscribe_portfolio'>, @WsConnection() conn: Connection) {
    return this.subscriptions.unsubscribePortfolio(conn, msg.data.portfolio_id);
  }

  @OnClientMessage('list_subscriptions')
  listSubscriptions(@ClientMessageBody() _msg: ClientMessageOf<'list_subscriptions'>, @WsConnection() conn: Connection) {
    return this.subscriptions.list(conn);
  }

  @OnClientMessage('set_options')
  setOptions(@ClientMessageBody() msg: ClientMessageOf<'set_options'>, @WsConnection() conn: Connection) {
    return this.subscriptions.setOptions(conn, msg.data);
  }
}
