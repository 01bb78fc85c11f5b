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
}

export interface BusMessages {
  /** A price batch was committed to PostgreSQL (published only after commit). */
  'prices.committed': { ticks: PriceTick[]; published_at: number; origin: string };
  /** Positions or metadata of a portfolio changed through the API (or it was deleted). */
  'portfolio.changed': { portfolio_id: number; owner_id: number; deleted?: boolean };
  /** A session logged out or expired: sockets bound to it lose portfolio access. */
  'session.ended': { session_id: string; user_id: number };
}

export type BusTopic = keyof BusMessages;
export type BusHandler<K extends BusTopic> = (message: BusMessages[K]) => void;
