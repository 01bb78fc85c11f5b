/**
 * Client-to-server messages: plain types only (no runtime imports), so a
 * browser bundle can `import type` them. The runtime validation lives in
 * client-messages.dto.ts (class-validator), one DTO per type below.
 *
 * Envelope on the raw WebSocket: `{type, data, id?, timestamp?}`. On Socket.IO
 * the event name is the type and the payload is `data` (or the full envelope).
 */

/** Optional correlation id: echoed as top-level `id` on the reply (and in `error.data.id`). */
export type MessageId = string | number;

/** `subscribe_asset` / `unsubscribe_asset`: exactly one of `symbol` or `symbols`. */
export interface AssetSelection {
  symbol?: string;
  symbols?: string[];
}

/**
 * `subscribe_asset`: a selection, plus where the client stopped after a disconnect (the last
 * `seq` it got): `since_seq` with `symbol`, or `since: {SYMBOL: seq}` with `symbols` (some or
 * all of them). The updates missed since then are replayed in order before live ones, or,
 * when the server's history does not cover them, the current snapshot is sent: `subscribed`
 * says which per symbol (`recovered`). A symbol already subscribed is resumed too (gap repair).
 */
export interface AssetSubscription extends AssetSelection {
  since_seq?: number;
  since?: Record<string, number>;
}

export interface PortfolioSelection {
  /** Positive integer (a decimal string such as "123" is accepted too). */
  portfolio_id: number;
}

/** The ranges of a portfolio's intraday value series a subscription can ask for (`series`): the last 24 hours. */
export type PortfolioSeriesRange = '1d';

/**
 * `subscribe_portfolio`: with `since_seq` (a resume), a fresh `portfolio_update` flagged `snapshot: true` follows, even when already subscribed.
 * With `series`, one `portfolio_series` follows (the intraday value series of that range), then a `portfolio_point` for every point
 * recorded while subscribed; the latest subscribe_portfolio of a portfolio decides (one without `series` stops the points).
 */
export interface PortfolioSubscription extends PortfolioSelection {
  since_seq?: number;
  series?: PortfolioSeriesRange;
}

/** Opt-in delivery options (see docs/protocol.md, "Batched frames" and "Portfolio push options"). Each one left out keeps its current value. */
export interface ConnectionOptions {
  /** 0 turns batching off; otherwise 10..1000 ms between `asset_updates` frames. */
  batch_ms?: number;
  /**
   * 0 (default): every portfolio change is pushed. 1..10000: a `portfolio_update` is pushed only when
   * total_value moved at least this many basis points away from the value last pushed to this connection
   * (a change of name, positions_count or stale is always pushed).
   */
  portfolio_min_change_bps?: number;
  /** 0 (default): off. 1..3600: a change held back by portfolio_min_change_bps is pushed at the latest this many seconds after the last push. */
  portfolio_max_interval?: number;
  /** true: `portfolio_update` carries `positions` (every one on the first push after subscribing, then only the changed ones). Default false. */
  portfolio_positions?: boolean;
}

/** Every client message type and its `data`. */
export interface ClientMessageMap {
  ping: Record<string, unknown>;
  subscribe_asset: AssetSubscription;
  unsubscribe_asset: AssetSelection;
  subscribe_portfolio: PortfolioSubscription;
  unsubscribe_portfolio: PortfolioSelection;
  list_subscriptions: Record<string, never>;
  set_options: ConnectionOptions;
}

export type ClientMessageType = keyof ClientMessageMap;

/** The `type` of the server message that answers each client message (an `error` may answer any). */
export interface ClientReplyMap {
  ping: 'pong';
  subscribe_asset: 'subscribed';
  unsubscribe_asset: 'unsubscribed';
  subscribe_portfolio: 'subscribed';
  unsubscribe_portfolio: 'unsubscribed';
  list_subscriptions: 'subscriptions';
  set_options: 'options';
}

export const CLIENT_MESSAGE_TYPES = [
  'ping',
  'subscribe_asset',
  'unsubscribe_asset',
  'subscribe_portfolio',
  'unsubscribe_portfolio',
  'list_subscriptions',
  'set_options',
] as const satisfies readonly ClientMessageType[];

/** The typed discriminated union of client envelopes. */
export type ClientMessage = {
  [K in ClientMessageType]: {
    type: K;
    data: ClientMessageMap[K];
    id?: MessageId;
    /** The guide's client adds its send time; accepted and ignored. */
    timestamp?: string;
  };
}[ClientMessageType];

export type ClientMessageOf<K extends ClientMessageType> = Extract<ClientMessage, { type: K }>;
