/**
 * Server-to-client messages: ONE typed map used by both transports (raw
 * WebSocket frames and Socket.IO events carry the same envelope). Plain types
 * and constants only, so a browser bundle can `import type` this file.
 */
import type { DisconnectCode, ErrorCode } from './error-codes';
import type { MessageId, PortfolioSeriesRange } from './client-messages';

export interface SubscriptionsData {
  assets: string[];
  portfolios: number[];
}

export interface ServerLimits {
  max_subscriptions_per_connection: number;
  max_connections_per_user: number;
  /** Largest accepted inbound frame in bytes (larger: close 1009). */
  max_payload_bytes: number;
  /** Sustained inbound messages per second, and the extra burst allowed. */
  rate_limit_per_second: number;
  rate_burst: number;
  /** Seconds a connection may go without a valid message or a subscription before it is closed (0: never). */
  idle_timeout: number;
  /** Invalid messages allowed per minute before the connection is closed with 1008. */
  max_protocol_errors_per_minute: number;
}

/** Sent once, first, on every new connection. */
export interface ConnectionData {
  status: 'connected';
  connection_id: string;
  authenticated: boolean;
  user_id: number | null;
  transport: 'websocket' | 'socketio' | 'sse';
  /**
   * Only on the SSE transport: the stream's secret, sent as the `X-SSE-Token` header of
   * `POST /realtime/sse/{connection_id}/messages` (the client → server half of that transport).
   */
  sse_token?: string;
  /** Seconds between server heartbeats (WebSocket ping frames / Engine.IO pings / SSE keep-alive comments). */
  heartbeat_interval: number;
  /** Seconds of silence after which the server drops the peer. */
  connection_timeout: number;
  limits: ServerLimits;
  /** Batch interval in ms when batched frames were requested at connect, else 0. */
  batch_ms: number;
  server_time: string;
}

export interface PongData {
  server_time: string;
  /**
   * The `seq` of the last update sent on this connection for each subscribed topic that has one
   * (assets by symbol, portfolios by id): updates held back for this connection (batched or
   * conflated) are written before the pong, so a client whose last seen seq is lower missed
   * something and can resubscribe with `since_seq`.
   */
  last_seq: { assets: Record<string, number>; portfolios: Record<string, number> };
}

/** Per topic of a resuming subscribe: whether every missed update is being replayed. */
export interface RecoveryData {
  /**
   * Per symbol given a `since_seq` / `since`: true when the updates after it follow, in order,
   * before any newer one (none when nothing was missed); false when the history did not hold
   * them all (too old, or a seq this server never saw): the current snapshot follows instead,
   * so anything derived from the missed updates should be refetched.
   */
  assets: Record<string, boolean>;
  /** Per portfolio given a `since_seq`: always false (a fresh `portfolio_update`, with `snapshot: true`, follows). */
  portfolios: Record<string, boolean>;
}

/** Reply to subscribe_* and unsubscribe_*: what changed, then everything now held. */
export interface SubscriptionChangeData {
  /** Assets added (subscribed) or removed (unsubscribed) by this request. */
  assets: string[];
  /** Portfolios added or removed by this request. */
  portfolios: number[];
  subscriptions: SubscriptionsData;
  /** Set when the server removed subscriptions on its own (`session_ended`, `portfolio_deleted`). */
  reason?: 'session_ended' | 'portfolio_deleted';
  /** Only on a `subscribed` answering a subscribe that carried `since_seq` or `since`. */
  recovered?: RecoveryData;
}

export interface SubscriptionListData {
  subscriptions: SubscriptionsData;
}

export interface OptionsData {
  batch_ms: number;
  /**
   * The portfolio push options in effect (see ConnectionOptions). Present when the request set one of
   * them or one of them is not at its default; absent otherwise (the reply of a plain `{batch_ms}` is unchanged).
   */
  portfolio_min_change_bps?: number;
  portfolio_max_interval?: number;
  portfolio_positions?: boolean;
}

/** The guide's asset_update, plus previous_close, as_of, source, seq and published_at. */
export interface AssetUpdateData {
  symbol: string;
  price: number;
  /** price - previous_close (0 when previous_close is unknown). */
  change: number;
  /** change / previous_close * 100, 4 decimals (0 when previous_close is unknown). */
  change_percent: number;
  volume: number | null;
  high: number | null;
  low: number | null;
  previous_close: number | null;
  /** When the vendor says the quote is from (ISO 8601). */
  as_of: string;
  source: string;
  /** Per-symbol sequence: strictly increases within one subscription. */
  seq: number;
  /** Server publish time (ms since epoch) of the price batch, for latency measurement. */
  published_at: number;
  /** The state of the symbol's market when the frame was built (crypto: always open). */
  market_state: MarketState;
}

/** A market's trading state: regular session, pre-market, after-hours, or closed. */
export type MarketState = 'open' | 'closed' | 'pre' | 'post';

/**
 * Why subscribed symbols go quiet (`state: 'quiet'`: no asset_update is expected) or
 * come back (`state: 'live'`): their market (MarketStatusData) or the price feed's
 * vendors (FeedStatusData); tell them apart by `reason`.
 */
export type StatusData = MarketStatusData | FeedStatusData | DeliveryStatusData;

/**
 * This connection fell behind (`delayed`: its buffer is over WS_BUFFER_HIGH_WATER, so only the
 * newest update per symbol is kept and sent, and seqs are skipped) or caught up (`live`).
 * Sent once each way, naming every symbol the connection is subscribed to.
 */
export interface DeliveryStatusData {
  symbols: string[];
  state: 'delayed' | 'live';
  reason: 'conflated' | 'caught_up';
  /** The same in one readable sentence. */
  message: string;
}

/**
 * A market closed or reopened. Sent when it does, and after `subscribed` for the newly
 * subscribed symbols whose market is closed.
 */
export interface MarketStatusData {
  /** The subscribed symbols this applies to (all on one market). */
  symbols: string[];
  state: 'quiet' | 'live';
  reason: 'market_closed' | 'market_opened';
  /** us_equities (stocks, ETFs, funds, bonds) or fx. */
  market: 'us_equities' | 'fx';
  market_state: MarketState;
  /** When the market's state next changes (ISO 8601), null when unknown. */
  next_change: string | null;
  /** The same in one readable sentence. */
  message: string;
}

/**
 * The price feed cannot price these symbols (`quiet`), or can again (`live`). Sent when that
 * changes, and after `subscribed` for newly subscribed symbols that are quiet at that moment.
 */
export interface FeedStatusData {
  /** The subscribed symbols this applies to. */
  symbols: string[];
  state: 'quiet' | 'live';
  /**
   * quiet: `vendor_unavailable` (every vendor of their provider chain is failing: its circuit
   * breaker is open) or `no_quotes` (no vendor quoted them for several feed cycles in a row);
   * live: `vendor_recovered` or `quotes_resumed` (quotes arrive again).
   */
  reason: 'vendor_unavailable' | 'no_quotes' | 'vendor_recovered' | 'quotes_resumed';
  /** vendor_unavailable and vendor_recovered: the vendor (the first of their provider chain); null otherwise. */
  vendor: string | null;
  /** When the feed saw this change (ISO 8601). */
  since: string;
  /** The same in one readable sentence. */
  message: string;
}

/** Opt-in batched frame: several asset updates in one message. */
export interface AssetUpdatesData {
  updates: AssetUpdateData[];
}

/** The guide's portfolio_update, plus positions_count, as_of, stale, seq. */
export interface PortfolioUpdateData {
  portfolio_id: number;
  name: string;
  total_value: number;
  daily_change: number;
  daily_change_percent: number;
  positions_count: number;
  as_of: string;
  /** True when a position's price is old or unknown. */
  stale: boolean;
  /** Per-portfolio sequence: strictly increases within one subscription (per server instance: compare only within one connection). */
  seq: number;
  /** True on the fresh update that answers a resuming subscribe (`since_seq`): replace what you had, whatever its seq. */
  snapshot?: boolean;
  /**
   * Only with the `portfolio_positions` option: every position (positions_complete true: the first push after
   * subscribing, or when the set of positions changed) or only those that changed since the last push (false).
   */
  positions?: PortfolioPositionData[];
  /** With `positions`: true when it lists every position of the portfolio (replace the table), false for only the changed ones. */
  positions_complete?: boolean;
}

/** One position in a portfolio_update (option `portfolio_positions`): decimals as strings, as the REST API gives them. */
export interface PortfolioPositionData {
  /** The key of a position: a portfolio holds each symbol once. */
  symbol: string;
  quantity: string;
  /** null when the asset has no price yet (the position then counts as 0). */
  current_price: string | null;
  previous_close: string | null;
  /** quantity × current_price. */
  market_value: string;
  /** quantity × (current_price − previous_close); "0" without a previous close. */
  daily_change: string;
  /** daily_change / (quantity × previous_close) × 100, 4 decimals ("0" when that is 0). */
  daily_change_percent: string;
  /** When the price is from (ISO 8601), null when never updated by a feed. */
  as_of: string | null;
}

/** One point of a portfolio's intraday value series. */
export interface PortfolioSeriesPoint {
  /** The start of the interval (a minute) it was recorded in (ISO 8601). */
  t: string;
  /** total_value then, as a decimal string (at most 8 decimals). */
  value: string;
}

/**
 * Sent once after `subscribed` (and the `portfolio_update` snapshot) to a `subscribe_portfolio` with `series`:
 * the portfolio's intraday value series over `range` (a point per minute at most, recorded while its value moves), oldest first.
 */
export interface PortfolioSeriesData {
  portfolio_id: number;
  range: PortfolioSeriesRange;
  points: PortfolioSeriesPoint[];
}

/** A point just recorded in the intraday value series of a portfolio subscribed with `series`: append it to the series. */
export interface PortfolioPointData extends PortfolioSeriesPoint {
  portfolio_id: number;
}

export interface ErrorData {
  /** An ErrorCode; on Socket.IO also a DisconnectCode, in the `error` event sent just before the server disconnects. */
  code: ErrorCode | DisconnectCode;
  message: string;
  /** The `type` of the message that failed (null when it could not be read). */
  request_type: string | null;
  /** The failed message's `id`, when it had one. */
  id: MessageId | null;
  /** One line per failed field (VALIDATION_FAILED). */
  details?: string[];
  /** Seconds to wait before retrying (RATE_LIMITED). */
  retry_after?: number;
  /** The symbols that were not recognised (UNKNOWN_SYMBOL); nothing of that request was subscribed. */
  symbols?: string[];
}

/** Every server message type and its `data`. */
export interface ServerMessageMap {
  connection: ConnectionData;
  pong: PongData;
  subscribed: SubscriptionChangeData;
  unsubscribed: SubscriptionChangeData;
  subscriptions: SubscriptionListData;
  options: OptionsData;
  asset_update: AssetUpdateData;
  asset_updates: AssetUpdatesData;
  portfolio_update: PortfolioUpdateData;
  portfolio_series: PortfolioSeriesData;
  portfolio_point: PortfolioPointData;
  status: StatusData;
  error: ErrorData;
}

export type ServerMessageType = keyof ServerMessageMap;

export const SERVER_MESSAGE_TYPES = [
  'connection',
  'pong',
  'subscribed',
  'unsubscribed',
  'subscriptions',
  'options',
  'asset_update',
  'asset_updates',
  'portfolio_update',
  'portfolio_series',
  'portfolio_point',
  'status',
  'error',
] as const satisfies readonly ServerMessageType[];

/** `{type, data, timestamp}` (+ `id` on replies to a client message that had one). */
export type ServerMessage<K extends ServerMessageType = ServerMessageType> = {
  [T in K]: {
    type: T;
    data: ServerMessageMap[T];
    /** ISO 8601 send time. */
    timestamp: string;
    id?: MessageId;
  };
}[K];

/** Payload of a Socket.IO acknowledgement callback. */
export type SocketIoAck<K extends ServerMessageType = ServerMessageType> = ({ ok: true; type: K } & ServerMessageMap[K]) | { ok: false; error: ErrorData };
