/**
 * Everything that travels between processes and server instances.
 * Vendor → validator → batch writer → BUS → hub → transports.
 * Prices are decimal strings (exact); transports turn them into JSON numbers.
 */
export interface PriceTick {
  symbol: string;
  price: string;
  previous_close: string | null;
  high: string | null;
  low: string | null;
  volume: string | null;
  /** When the vendor says the quote is from (ISO 8601). */
  as_of: string;
  source: string;
  /**
   * The cluster-wide sequence of this price (assets.price_seq, advanced once per committed price):
   * every API instance sends it as the update's `seq`. Absent from publishers that predate it
   * (an instance then numbers that symbol's updates itself and cannot replay them).
   */
  seq?: number;
}

export interface BusMessages {
  /** A price batch was committed to PostgreSQL (published only after commit). */
  'prices.committed': { ticks: PriceTick[]; published_at: number; origin: string };
  /** Positions or metadata of a portfolio changed through the API (or it was deleted). */
  'portfolio.changed': { portfolio_id: number; owner_id: number; deleted?: boolean };
  /** A session logged out or expired: sockets bound to it lose portfolio access. */
  'session.ended': { session_id: string; user_id: number };
  /**
   * The price feed's complete set of symbols it cannot price now (docs/bus.md): published by the
   * feed leader when the set changes, and repeated (see FEED_STATUS_REPEAT_SECONDS) on a Redis bus.
   * A symbol not listed is live.
   */
  'feed.status': FeedStatusMessage;
}

/** Why the feed cannot price some symbols. */
export type FeedQuietReason =
  /** Every vendor of the symbols' provider chain has its circuit breaker open. */
  | 'vendor_unavailable'
  /** No provider of the chain quoted them for FEED_STALE_CYCLES feed cycles in a row. */
  | 'no_quotes';

/** Symbols that went quiet together, for one reason. */
export interface FeedQuietGroup {
  symbols: string[];
  reason: FeedQuietReason;
  /** vendor_unavailable: the first vendor of the symbols' chain (every vendor of it is down); null for no_quotes. */
  vendor: string | null;
  /** When these symbols went quiet for this reason (ms since the epoch, the feed's clock). */
  since: number;
}

export interface FeedStatusMessage {
  /** Every quiet symbol, once, grouped by cause; empty when the feed prices everything it can. */
  quiet: FeedQuietGroup[];
  /** When the feed computed this state (ms since the epoch). */
  at: number;
  /** The feed process (`feed:host:pid`). */
  origin: string;
}

export type BusTopic = keyof BusMessages;
export type BusHandler<K extends BusTopic> = (message: BusMessages[K]) => void;
