import type { AssetUpdateData, MarketState, RealtimeClient, StatusData } from '../../../client';
import { RealtimeError } from '../../../client';
import { FrameBatcher } from '../shared/raf';

type BatchListener = (batch: Map<string, AssetUpdateData>) => void;
type MarketStateListener = (symbols: string[], state: MarketState) => void;
/** `note` null: the feed prices the symbols again (or nothing is known about them). */
type FeedNoteListener = (symbols: string[], note: FeedNote | null) => void;

/** Why the feed cannot price a symbol now, as a card says it. */
export interface FeedNote {
  /** "delayed: vendor unavailable" or "no quotes". */
  text: string;
  /** The server's sentence (vendor, since when). */
  detail: string;
}

/** What a card says while the feed cannot price its symbol (status `quiet` with a feed reason). */
export const FEED_NOTE_LABELS = {
  vendor_unavailable: 'delayed: vendor unavailable',
  no_quotes: 'no quotes',
} as const;

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
  /** Symbols the feed cannot price now (status quiet, vendor_unavailable or no_quotes), until a live status. */
  readonly feedNotes = new Map<string, FeedNote>();
  private readonly feedListeners = new Set<FeedNoteListener>();
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
    client.on('status', (s) => {
      if ('market' in s) {
        // A market closed or reopened: the cards say so even when no price follows.
        for (const symbol of s.symbols) {
          const q = this.quotes.get(symbol);
          if (q) this.quotes.set(symbol, { ...q, market_state: s.market_state });
        }
        for (const fn of this.stateListeners) fn(s.symbols, s.market_state);
      } else if (isFeedStatus(s)) {
        this.setFeedNote(s.symbols, feedNote(s));
      }
    });
    // A new connection (a reconnect): the server says again, after the subscribes, which symbols are still quiet.
    client.on('connection', () => {
      if (this.feedNotes.size > 0) this.setFeedNote([...this.feedNotes.keys()], null);
    });
  }

  onFeedNote(fn: FeedNoteListener): () => void {
    this.feedListeners.add(fn);
    return () => this.feedListeners.delete(fn);
  }

  private setFeedNote(symbols: string[], note: FeedNote | null): void {
    for (const symbol of symbols) {
      if (note) this.feedNotes.set(symbol, note);
      else this.feedNotes.delete(symbol);
    }
    for (const fn of this.feedListeners) fn(symbols, note);
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
    for (const s of removed) {
      this.quotes.delete(s);
      this.feedNotes.delete(s);
    }
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

/** A `status` about the price feed's vendors (not a market's, nor any other kind). */
type FeedStatus = Extract<StatusData, { vendor: string | null }>;
const FEED_REASONS: ReadonlySet<string> = new Set<FeedStatus['reason']>(['vendor_unavailable', 'no_quotes', 'vendor_recovered', 'quotes_resumed']);
const isFeedStatus = (s: StatusData): s is FeedStatus => FEED_REASONS.has(s.reason);

/** A feed `status`: its note while quiet, null when live. */
function feedNote(s: FeedStatus): FeedNote | null {
  if (s.state !== 'quiet' || (s.reason !== 'vendor_unavailable' && s.reason !== 'no_quotes')) return null;
  return { text: FEED_NOTE_LABELS[s.reason], detail: s.message };
}
