import { Injectable } from '@nestjs/common';
import type { RealtimeStatus, WebSocketInfo } from '../common/api-types';
import { AppConfig } from '../config/app-config';
import { CLIENT_MESSAGE_TYPES } from './protocol/client-messages';
import { CLIENT_MESSAGE_DESCRIPTIONS, SERVER_MESSAGE_DESCRIPTIONS } from './protocol/message-descriptions';
import { SERVER_MESSAGE_TYPES } from './protocol/server-messages';
import { ERROR_CODES } from './protocol/error-codes';
import { PriceFeedStatus } from '../price-feed/feed/price-feed-status.service';
import { ClusterPresence } from './cluster/cluster-presence';
import { ConnectionRegistry } from './hub/connection-registry';
import { RealtimeHub } from './hub/realtime-hub.service';
import { SOCKET_IO_NAMESPACE, SOCKET_IO_PATH, SSE_MESSAGES_PATH, SSE_PATH } from './transports/wire-frames';

export const RAW_WS_PATH = '/ws/realtime/';

export interface RequestView {
  /** host[:port] the client used (honours X-Forwarded-Host behind a trusted proxy). */
  host: string;
  /** True behind TLS (or a trusted proxy saying https). */
  secure: boolean;
  userId: number | null;
}

/** The guide's REST views of the realtime service: connection info and status. */
@Injectable()
export class RealtimeInfoService {
  constructor(
    private readonly config: AppConfig,
    private readonly hub: RealtimeHub,
    private readonly registry: ConnectionRegistry,
    private readonly feed: PriceFeedStatus,
    private readonly presence: ClusterPresence,
  ) {}

  websocketInfo(view: RequestView): WebSocketInfo {
    const protocol = view.secure ? 'wss' : 'ws';
    return {
      websocket_url: `${protocol}://${view.host}${RAW_WS_PATH}`,
      connection_info: {
        protocol,
        host: view.host,
        path: RAW_WS_PATH,
        authentication: 'session-based',
        socketio: {
          url: `${view.secure ? 'https' : 'http'}://${view.host}${SOCKET_IO_NAMESPACE}`,
          namespace: SOCKET_IO_NAMESPACE,
          path: SOCKET_IO_PATH,
        },
        sse: { url: `${view.secure ? 'https' : 'http'}://${view.host}${SSE_PATH}`, path: SSE_PATH, messages_path: SSE_MESSAGES_PATH },
        heartbeat_interval: this.config.HEARTBEAT_INTERVAL,
        connection_timeout: this.config.WEBSOCKET_TIMEOUT,
        limits: this.hub.limits,
      },
      message_types: { ...CLIENT_MESSAGE_DESCRIPTIONS, ...SERVER_MESSAGE_DESCRIPTIONS },
      client_message_types: [...CLIENT_MESSAGE_TYPES],
      server_message_types: [...SERVER_MESSAGE_TYPES],
      error_codes: [...ERROR_CODES],
    };
  }

  async status(view: RequestView): Promise<RealtimeStatus> {
    const [globalStats, feed] = await Promise.all([this.presence.globalStats(), this.feed.snapshot()]);
    const body: RealtimeStatus = {
      service_status: 'running',
      // Every live API instance with REDIS_URL (`scope: "cluster"`, others' figures up to a heartbeat old), else this one.
      global_stats: globalStats,
      // The guide's health check field, and the feed's own view (mode, last run, stale symbols, vendor breakers).
      price_feed_running: feed.price_feed_running,
      price_feed: feed,
    };
    if (view.userId !== null) {
      const conns = this.registry.userConnections(view.userId);
      const assets = new Set<string>();
      const portfolios = new Set<number>();
      for (const c of conns) {
        for (const a of c.assets ?? []) assets.add(a);
        for (const p of c.portfolios ?? []) portfolios.add(p);
      }
      body.user_stats = {
        connection_count: conns.length,
        subscriptions: { portfolios: [...portfolios].sort((a, b) => a - b), assets: [...assets].sort() },
      };
    }
    return body;
  }
}
