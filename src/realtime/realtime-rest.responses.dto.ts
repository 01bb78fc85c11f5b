/**
 * OpenAPI schemas of the realtime REST views (GET /realtime/websocket-info/ and
 * GET /realtime/status/), each implementing its shared type in src/common/api-types.ts.
 */
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import type {
  FeedHeartbeat,
  FeedRole,
  GlobalStats,
  InstanceSummary,
  PriceFeedStatusSnapshot,
  RealtimeHealthJson,
  RealtimeStatus,
  RealtimeUserStats,
  WebSocketInfo,
} from '../common/api-types';
import { ApiDateTime, enumOf } from '../common/openapi';
import type { AssertTrue, StrictSame } from '../common/type-checks';
import { CLIENT_MESSAGE_TYPES } from './protocol/client-messages';
import { ERROR_CODES, ErrorCode } from './protocol/error-codes';
import type { ServerLimits } from './protocol/server-messages';
import { SERVER_MESSAGE_TYPES } from './protocol/server-messages';

type ConnectionInfo = WebSocketInfo['connection_info'];
type SocketIoInfo = ConnectionInfo['socketio'];
type SseInfo = ConnectionInfo['sse'];
type TransportCounts = GlobalStats['connections_by_transport'];
type FeedCache = PriceFeedStatusSnapshot['cache'];
type VendorState = PriceFeedStatusSnapshot['vendors'][string];
type UserSubscriptions = RealtimeUserStats['subscriptions'];

const int = (example: number, description?: string) => ApiProperty({ type: 'integer', example, description });

@ApiSchema({ name: 'ServerLimits', description: 'Per-connection limits (the same object as in the `connection` message).' })
export class ServerLimitsDto implements ServerLimits {
  @int(50) max_subscriptions_per_connection: number;
  @int(5) max_connections_per_user: number;
  @int(65536, 'Largest accepted inbound frame in bytes (larger: close 1009).') max_payload_bytes: number;
  @int(20, 'Sustained inbound messages per second.') rate_limit_per_second: number;
  @int(40, 'Extra burst allowed above the sustained rate.') rate_burst: number;
  @int(10, 'Seconds a connection may go without a valid message or a subscription before it is closed (0: never).') idle_timeout: number;
  @int(20, 'Invalid messages allowed per minute before the connection is closed with 1008.') max_protocol_errors_per_minute: number;
}

@ApiSchema({ name: 'SocketIoInfo' })
export class SocketIoInfoDto implements SocketIoInfo {
  @ApiProperty({ example: 'http://localhost:8000/realtime' }) url: string;
  @ApiProperty({ example: '/realtime' }) namespace: string;
  @ApiProperty({ example: '/socket.io' }) path: string;
}

@ApiSchema({ name: 'SseInfo', description: 'The Server-Sent Events fallback (docs/protocol.md, "SSE fallback").' })
export class SseInfoDto implements SseInfo {
  @ApiProperty({ example: 'http://localhost:8000/realtime/sse', description: 'The event stream (GET; `?symbols=AAPL,MSFT&portfolios=3`).' }) url: string;
  @ApiProperty({ example: '/realtime/sse' }) path: string;
  @ApiProperty({
    example: '/realtime/sse/{connection_id}/messages',
    description: 'Client messages of a stream (POST, header `X-SSE-Token: <sse_token of its connection event>`).',
  })
  messages_path: string;
}

@ApiSchema({ name: 'ConnectionInfo' })
export class ConnectionInfoDto implements ConnectionInfo {
  @ApiProperty({ enum: enumOf<ConnectionInfo['protocol']>({ ws: true, wss: true }), example: 'ws' }) protocol: 'ws' | 'wss';
  @ApiProperty({ example: 'localhost:8000' }) host: string;
  @ApiProperty({ example: '/ws/realtime/' }) path: string;
  @ApiProperty({ enum: ['session-based'], example: 'session-based' }) authentication: 'session-based';
  @ApiProperty({ type: () => SocketIoInfoDto }) socketio: SocketIoInfoDto;
  @ApiProperty({ type: () => SseInfoDto }) sse: SseInfoDto;
  @int(25, 'Seconds between server heartbeats.') heartbeat_interval: number;
  @int(300, 'Seconds of silence after which the server drops the peer.') connection_timeout: number;
  @ApiProperty({ type: () => ServerLimitsDto }) limits: ServerLimitsDto;
}

@ApiSchema({ name: 'WebSocketInfo', description: 'Where and how to connect; the full protocol is in GET /realtime/asyncapi.json.' })
export class WebSocketInfoDto implements WebSocketInfo {
  @ApiProperty({ example: 'ws://localhost:8000/ws/realtime/', description: 'Built from the request’s host; wss:// behind TLS.' })
  websocket_url: string;

  @ApiProperty({ type: () => ConnectionInfoDto })
  connection_info: ConnectionInfoDto;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'One line per client and server message type.',
    example: { ping: 'Health check message; the server answers pong' },
  })
  message_types: Record<string, string>;

  @ApiProperty({ type: 'string', isArray: true, example: [...CLIENT_MESSAGE_TYPES] })
  client_message_types: string[];

  @ApiProperty({ type: 'string', isArray: true, example: [...SERVER_MESSAGE_TYPES] })
  server_message_types: string[];

  @ApiProperty({ enum: ERROR_CODES, isArray: true, example: [...ERROR_CODES] })
  error_codes: ErrorCode[];
}

@ApiSchema({ name: 'TransportCounts' })
export class TransportCountsDto implements TransportCounts {
  @int(10) websocket: number;
  @int(5) socketio: number;
  @int(1) sse: number;
}

@ApiSchema({ name: 'InstanceSummary', description: 'One API instance.' })
export class InstanceSummaryDto implements InstanceSummary {
  @ApiProperty({ example: 'api-1-4711-3fa2c1' }) id: string;
  @int(9) connections: number;
  @ApiProperty({ type: () => TransportCountsDto }) connections_by_transport: TransportCountsDto;
  @int(5) authenticated_users: number;
  @ApiDateTime() last_seen: string;
  @ApiProperty({ example: true, description: 'True for the instance that answered the request.' }) self: boolean;
}

@ApiSchema({ name: 'GlobalStats' })
export class GlobalStatsDto implements GlobalStats {
  @ApiProperty({
    enum: enumOf<GlobalStats['scope']>({ cluster: true, instance: true }),
    description: '`cluster`: every live API instance (REDIS_URL); `instance`: this one only.',
  })
  scope: 'cluster' | 'instance';
  @int(15) total_connections: number;
  @int(8) authenticated_users: number;
  @int(12, 'Subscriptions (connection × portfolio).') portfolio_subscriptions: number;
  @int(25, 'Subscriptions (connection × asset).') asset_subscriptions: number;
  @int(9) distinct_assets: number;
  @int(7) distinct_portfolios: number;
  @ApiProperty({ type: () => TransportCountsDto }) connections_by_transport: TransportCountsDto;
  @int(0, 'Connections whose updates are being conflated (slow consumers).') conflated_connections: number;
  @ApiProperty({ type: () => InstanceSummaryDto, isArray: true }) instances: InstanceSummaryDto[];
}

const FEED_ROLES = enumOf<FeedRole>({ leader: true, standby: true, stopped: true, disabled: true });

@ApiSchema({ name: 'FeedHeartbeat', description: 'The separate feed process’s heartbeat (PRICE_FEED_MODE=external with Redis).' })
export class FeedHeartbeatDto implements FeedHeartbeat {
  @ApiProperty({ example: 'feed-1' }) host: string;
  @int(4711) pid: number;
  @ApiProperty({ enum: FEED_ROLES }) role: FeedRole;
  @ApiDateTime({ nullable: true }) last_run_at: string | null;
  @int(30) interval_seconds: number;
  @int(50) batch_size: number;
}

@ApiSchema({ name: 'FeedCache' })
export class FeedCacheDto implements FeedCache {
  @int(129) cached_symbols: number;
  @ApiProperty({ type: 'string', isArray: true, example: [] }) stale_symbols: string[];
  @int(300) stale_after_seconds: number;
}

@ApiSchema({ name: 'VendorState' })
export class VendorStateDto implements VendorState {
  @ApiProperty({ example: 'closed', description: 'Circuit breaker state.' }) breaker: string;
  @ApiProperty({ type: 'string', nullable: true, example: null }) last_error: string | null;
}

@ApiSchema({ name: 'PriceFeedStatus', description: 'Is a feed running (here or elsewhere), how fresh are prices, how are the vendors.' })
@ApiExtraModels(VendorStateDto)
export class PriceFeedStatusDto implements PriceFeedStatusSnapshot {
  @ApiProperty({ example: 'simulated' }) mode: string;
  @ApiProperty({ description: 'A feed wrote prices recently (this process, or a separate one seen through Redis).' }) price_feed_running: boolean;
  @ApiProperty({ enum: FEED_ROLES }) role: FeedRole;
  @int(30) interval_seconds: number;
  @int(50) batch_size: number;
  @ApiDateTime({ nullable: true }) last_run_at: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 120 }) last_run_ms: number | null;
  @int(42) runs: number;
  @int(0) skipped_runs: number;
  @int(0) failed_batches: number;
  @int(0) rejected_quotes: number;
  @int(0) carried_quotes: number;
  @ApiProperty({ type: 'string', nullable: true, example: null }) last_error: string | null;
  @ApiProperty({ type: () => FeedHeartbeatDto, nullable: true }) external_feed: FeedHeartbeatDto | null;
  @ApiProperty({ type: () => FeedCacheDto }) cache: FeedCacheDto;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(VendorStateDto) }, description: 'Per vendor (by name).' })
  vendors: Record<string, VendorStateDto>;
}

@ApiSchema({ name: 'UserSubscriptions' })
export class UserSubscriptionsDto implements UserSubscriptions {
  @ApiProperty({ type: 'integer', isArray: true, example: [123, 456] }) portfolios: number[];
  @ApiProperty({ type: 'string', isArray: true, example: ['AAPL', 'GOOGL'] }) assets: string[];
}

@ApiSchema({ name: 'RealtimeUserStats', description: 'The caller’s own connections on the instance that answered.' })
export class RealtimeUserStatsDto implements RealtimeUserStats {
  @int(2) connection_count: number;
  @ApiProperty({ type: () => UserSubscriptionsDto }) subscriptions: UserSubscriptionsDto;
}

@ApiSchema({ name: 'RealtimeStatus' })
export class RealtimeStatusDto implements RealtimeStatus {
  @ApiProperty({ enum: ['running'] }) service_status: 'running';
  @ApiProperty({ type: () => GlobalStatsDto }) global_stats: GlobalStatsDto;
  @ApiProperty({ description: 'The guide’s health check field (same as price_feed.price_feed_running).' }) price_feed_running: boolean;
  @ApiProperty({ type: () => PriceFeedStatusDto }) price_feed: PriceFeedStatusDto;
  @ApiPropertyOptional({ type: () => RealtimeUserStatsDto, description: 'Only for a logged-in caller.' }) user_stats?: RealtimeUserStatsDto;
}

@ApiSchema({ name: 'RealtimeHealth', description: 'The guide’s health view of the realtime service.' })
export class RealtimeHealthDto implements RealtimeHealthJson {
  @ApiProperty({ example: true }) price_feed_running: boolean;
  @int(15, 'Open sockets of the whole service (every live API instance with REDIS_URL).') active_connections: number;
  @ApiDateTime() timestamp: string;
}

export type _RealtimeRestDtosFit = [
  AssertTrue<StrictSame<ServerLimits, ServerLimitsDto>>,
  AssertTrue<StrictSame<SocketIoInfo, SocketIoInfoDto>>,
  AssertTrue<StrictSame<SseInfo, SseInfoDto>>,
  AssertTrue<StrictSame<ConnectionInfo, ConnectionInfoDto>>,
  AssertTrue<StrictSame<WebSocketInfo, WebSocketInfoDto>>,
  AssertTrue<StrictSame<TransportCounts, TransportCountsDto>>,
  AssertTrue<StrictSame<InstanceSummary, InstanceSummaryDto>>,
  AssertTrue<StrictSame<GlobalStats, GlobalStatsDto>>,
  AssertTrue<StrictSame<FeedHeartbeat, FeedHeartbeatDto>>,
  AssertTrue<StrictSame<FeedCache, FeedCacheDto>>,
  AssertTrue<StrictSame<VendorState, VendorStateDto>>,
  AssertTrue<StrictSame<PriceFeedStatusSnapshot, PriceFeedStatusDto>>,
  AssertTrue<StrictSame<UserSubscriptions, UserSubscriptionsDto>>,
  AssertTrue<StrictSame<RealtimeUserStats, RealtimeUserStatsDto>>,
  AssertTrue<StrictSame<RealtimeStatus, RealtimeStatusDto>>,
  AssertTrue<StrictSame<RealtimeHealthJson, RealtimeHealthDto>>,
];
