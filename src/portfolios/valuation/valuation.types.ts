/**
 * A portfolio's live value, as the valuation engine publishes it. Money is
 * decimal strings; the realtime transports turn them into JSON numbers for
 * the guide's `portfolio_update` message.
 */
export interface PortfolioValuation {
  portfolio_id: number;
  owner_id: number;
  name: string;
  total_value: string;
  daily_change: string;
  daily_change_percent: string;
  positions_count: number;
  /** Newest price time among the positions' assets (ISO 8601), or now for an empty portfolio. */
  as_of: string;
  /** True when any position's price is older than a few feed intervals or unknown. */
  stale: boolean;
}

/** One position of a portfolio, valued (decimal strings, the REST API's per-position figures). */
export interface PositionValuation {
  symbol: string;
  quantity: string;
  /** null without a price (the position counts as 0). */
  current_price: string | null;
  previous_close: string | null;
  /** quantity × price. */
  market_value: string;
  /** quantity × (price − previous_close). */
  daily_change: string;
  daily_change_percent: string;
  /** The price's as-of (ISO 8601), null when never updated. */
  as_of: string | null;
}

/**
 * Implemented by the live valuation engine (ValuationModule). Deleted
 * portfolios are dropped from the engine and not emitted: the hub learns of a
 * deletion from the bus message 'portfolio.changed' {deleted: true}. The realtime hub
 * reads snapshots on subscribe and listens for changes; it never queries the
 * database on the fan-out path.
 */
export abstract class PortfolioValuationSource {
  /** Current valuation of one portfolio (null if it does not exist). */
  abstract snapshot(portfolioId: number): Promise<PortfolioValuation | null>;
  /** Called with every batch of changed valuations (after price batches and position edits). */
  abstract onChange(listener: (changed: PortfolioValuation[]) => void): () => void;
  /**
   * Optional narrowing (a performance hint): after price batches, only
   * portfolios for which `isWatched(id)` is true are valued and passed to the
   * listeners (the hub passes "has subscribers on this instance"); null = all.
   * Position edits are always notified. The default implementation ignores it.
   */
  setInterest(isWatched: ((portfolioId: number) => boolean) | null): void {
    void isWatched;
  }
  /**
   * The positions of a portfolio as the last valuation passed to the listeners saw them
   * (synchronous, in memory; in position order), or null when unknown. Read only for
   * subscribers that asked for positions. The default implementation knows none.
   */
  positions(portfolioId: number): PositionValuation[] | null {
    void portfolioId;
    return null;
  }
}
