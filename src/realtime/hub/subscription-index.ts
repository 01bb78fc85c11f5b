import type { Market, MarketState } from '../../assets/market-hours';
import type { PriceTick } from '../../bus/bus.messages';
import type { PortfolioValuation } from '../../portfolios/valuation/valuation.types';
import type { Connection } from './connection';
import type { OutboundFrame } from './outbound-frame';
import type { UpdateHistory } from './update-history';

/** One symbol: its latest tick (from the bus or a snapshot source), sequence, cached frame and subscribers. */
export interface AssetTopic {
  readonly key: string;
  readonly symbol: string;
  /** Cluster-wide sequence of the latest tick (its `seq`, assets.price_seq); 0 until a tick or a snapshot is seen. */
  seq: number;
  tick: PriceTick | null;
  /** The latest updates with consecutive seqs, for resumes (created with the first live tick). */
  history: UpdateHistory | null;
  asOfMs: number;
  publishedAt: number;
  /** The latest asset_update, encoded once (null until someone needs it). */
  frame: OutboundFrame<'asset_update'> | null;
  /** The `market_state` in `frame`. */
  frameState: MarketState | null;
  /** The symbol's market (from its asset type), null until the catalog knows it. */
  market: Market | null;
  readonly subscribers: Set<Connection>;
}

/** One portfolio with at least one subscriber on this instance. */
export interface PortfolioTopic {
  readonly key: string;
  readonly portfolioId: number;
  seq: number;
  frame: OutboundFrame<'portfolio_update'> | null;
  /** The valuation `frame` was built from (the portfolio push options compare against it). */
  valuation: PortfolioValuation | null;
  readonly subscribers: Set<Connection>;
}

export const assetKey = (symbol: string) => `a:${symbol}`;
export const portfolioKey = (id: number) => `p:${id}`;

/**
 * topic -> Set<Connection>, plus each connection's own set of topics, kept in
 * step. Asset topics stay (they also hold the latest tick per symbol for
 * snapshots); a portfolio topic lives while it has subscribers.
 */
export class SubscriptionIndex {
  private readonly assetTopics = new Map<string, AssetTopic>();
  private readonly portfolioTopics = new Map<number, PortfolioTopic>();
  private assetSubs = 0;
  private portfolioSubs = 0;

  asset(symbol: string): AssetTopic {
    let t = this.assetTopics.get(symbol);
    if (!t) {
      t = {
        key: assetKey(symbol),
        symbol,
        seq: 0,
        tick: null,
        history: null,
        asOfMs: 0,
        publishedAt: 0,
        frame: null,
        frameState: null,
        market: null,
        subscribers: new Set(),
      };
      this.assetTopics.set(symbol, t);
    }
    return t;
  }

  peekAsset(symbol: string): AssetTopic | undefined {
    return this.assetTopics.get(symbol);
  }

  peekPortfolio(id: number): PortfolioTopic | undefined {
    return this.portfolioTopics.get(id);
  }

  /** True if newly added. */
  addAsset(conn: Connection, symbol: string): boolean {
    const set = (conn.assets ??= new Set());
    if (set.has(symbol)) return false;
    set.add(symbol);
    this.asset(symbol).subscribers.add(conn);
    this.assetSubs++;
    return true;
  }

  removeAsset(conn: Connection, symbol: string): boolean {
    if (!conn.assets?.delete(symbol)) return false;
    this.assetTopics.get(symbol)?.subscribers.delete(conn);
    this.assetSubs--;
    if (conn.assets.size === 0) conn.assets = null;
    return true;
  }

  addPortfolio(conn: Connection, id: number): PortfolioTopic | null {
    const set = (conn.portfolios ??= new Set());
    if (set.has(id)) return null;
    set.add(id);
    let t = this.portfolioTopics.get(id);
    if (!t) {
      t = { key: portfolioKey(id), portfolioId: id, seq: 0, frame: null, valuation: null, subscribers: new Set() };
      this.portfolioTopics.set(id, t);
    }
    t.subscribers.add(conn);
    this.portfolioSubs++;
    return t;
  }

  removePortfolio(conn: Connection, id: number): boolean {
    if (!conn.portfolios?.delete(id)) return false;
    const t = this.portfolioTopics.get(id);
    if (t) {
      t.subscribers.delete(conn);
      if (t.subscribers.size === 0) this.portfolioTopics.delete(id);
    }
    this.portfolioSubs--;
    if (conn.portfolios.size === 0) conn.portfolios = null;
    return true;
  }

  /** Asset topics with at least one subscriber here. */
  *watchedAssets(): IterableIterator<AssetTopic> {
    for (const t of this.assetTopics.values()) if (t.subscribers.size > 0) yield t;
  }

  /** Subscribers of one portfolio (a copy, safe to iterate while removing). */
  portfolioSubscribers(id: number): Connection[] {
    return [...(this.portfolioTopics.get(id)?.subscribers ?? [])];
  }

  removeAll(conn: Connection): void {
    for (const s of conn.assets ?? []) this.removeAsset(conn, s);
    for (const p of conn.portfolios ?? []) this.removePortfolio(conn, p);
  }

  /**
   * The symbols and portfolio ids with at least one subscriber here, at most `limit` of each
   * (`truncated` when there were more): what this instance publishes for the cluster's distinct counts.
   */
  watchedTopics(limit: number): { assets: string[]; portfolios: number[]; truncated: boolean } {
    const assets: string[] = [];
    const portfolios: number[] = [];
    let truncated = false;
    for (const t of this.assetTopics.values()) {
      if (t.subscribers.size === 0) continue;
      if (assets.length >= limit) {
        truncated = true;
        break;
      }
      assets.push(t.symbol);
    }
    for (const id of this.portfolioTopics.keys()) {
      if (portfolios.length >= limit) {
        truncated = true;
        break;
      }
      portfolios.push(id);
    }
    return { assets, portfolios, truncated };
  }

  stats() {
    let distinctAssets = 0;
    for (const t of this.assetTopics.values()) if (t.subscribers.size > 0) distinctAssets++;
    return {
      asset_subscriptions: this.assetSubs,
      portfolio_subscriptions: this.portfolioSubs,
      distinct_assets: distinctAssets,
      distinct_portfolios: this.portfolioTopics.size,
    };
  }
}
