import type { AssetUpdateData, MarketState, RealtimeClient } from '../../../client';
import { RealtimeError } from '../../../client';
import { FrameBatcher } from '../shared/raf';

type BatchListener = (batch: Map<string, AssetUpdateData>) => void;
type MarketStateListener = (symbols: string[], state: MarketState) => void;

/**
 * The page's view of the market: which symbols each part of the page needs
 * (watchlist, positions), kept in sync with the client's subscriptions, and
 * the latest quote per symbol. Price updates reach the views once per
 * animation frame, newest value per symbol.
 */
export class Market {
  readonly quotes = new Map<string, AssetUpdateData>();
  private readonly owners = new Map<string, Set<string>>();
  private readonly listeners = new Set<BatchListener>();
  private readonly stateListeners = new Set<MarketStateListener>();
  private readonly batcher = new FrameBatcher<string, AssetUpdateData>((batch) => {
    for (const fn of this.listeners) fn(batch);
  });

  constructor(private readonly client: RealtimeClient) {
    client.on('asset_update', (u) => {
      const prev = this.quotes.get(u.symbol);
      // Within one connection seq only grows; a new connection (seq restarts) always wins when newer in time.
      if (prev && prev.seq >= u.seq && prev.as_of > u.as_of) return;
      this.quotes.set(u.symbol, u);
      this.batcher.push(u.symbol, u);
    });
    // A market closed or reopened: the cards say so even when no price follows.
    client.on('status', (s) => {
      for (const symbol of s.symbols) {
        const q = this.quotes.get(symbol);
        if (q) this.quotes.set(symbol, { ...q, market_state: s.market_state });
      }
      for (const fn of this.stateListeners) fn(s.symbols, s.market_state);
    });
  }

  onMarketState(fn: MarketStateListener): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  onUpdates(fn: BatchListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Declares the full set of symbols `owner` needs. Newly needed symbols are
   * subscribed; the promise rejects with UNKNOWN_SYMBOL details when the server
   * refuses some (those are dropped from the owner's set).
   */
  async need(owner: string, symbols: string[]): Promise<void> {
    const wanted = new Set(symbols.map((s) => s.toUpperCase()));
    const before = this.allNeeded();
    for (const [sym, set] of this.owners) {
      if (!wanted.has(sym)) {
        set.delete(owner);
        if (set.size === 0) this.owners.delete(sym);
      }
    }
    for (const sym of wanted) {
      let set = this.owners.get(sym);
      if (!set) this.owners.set(sym, (set = new Set()));
      set.add(owner);
    }
    const after = this.allNeeded();
    const added = [...after].filter((s) => !before.has(s));
    const removed = [...before].filter((s) => !after.has(s));
    for (const s of removed) this.quotes.delete(s);
    if (removed.length > 0) this.client.unsubscribeAssets(removed).catch(() => undefined);
    if (added.length > 0) {
      try {
        await this.client.subscribeAssets(added);
      } catch (err) {
        if (err instanceof RealtimeError && err.code === 'UNKNOWN_SYMBOL') {
          const unknown = added.filter((s) => !this.client.subscriptions.assets.includes(s));
          for (const s of unknown) this.owners.delete(s);
          throw new RealtimeError('UNKNOWN_SYMBOL', `Unknown symbol: ${unknown.join(', ')}`, { symbols: unknown });
        }
        // Not connected right now: the client sends them on (re)connect.
        if (!(err instanceof RealtimeError) || !['NOT_CONNECTED', 'DISCONNECTED', 'TIMEOUT'].includes(err.code)) throw err;
      }
    }
  }

  private allNeeded(): Set<string> {
    return new Set(this.owners.keys());
  }
}
