import type { AssetJson, AssetUpdateData, MarketState } from '../../../client';
import { normaliseSymbol, RealtimeError } from '../../../client';
import { history } from '../shared/api';
import { flash, h, notify, setText } from '../shared/dom';
import { formatChange, formatPercent, formatPrice, formatVolume, signClass } from '../shared/format';
import type { FeedNote, Market } from './market';
import { Sparkline } from './sparkline';

export const WATCHLIST_KEY = 'rm.watchlist.v1';
/** A new visitor's watchlist: the guide's AAPL, GOOGL, MSFT and one or two of every other kind. */
export const DEFAULT_WATCHLIST = ['AAPL', 'GOOGL', 'MSFT', 'SPY', 'BTC-USD', 'ETH-USD', 'EURUSD', 'VFIAX'];
const MAX_WATCHED = 40;
/** What a card's market badge says in each market state. */
export const MARKET_STATE_LABELS: Record<MarketState, string> = {
  open: 'market open',
  closed: 'market closed',
  pre: 'pre-market',
  post: 'after hours',
};

interface Card {
  symbol: string;
  root: HTMLElement;
  name: HTMLElement;
  type: HTMLElement;
  market: HTMLElement;
  /** What the feed says when it cannot price the symbol ("delayed: vendor unavailable", "no quotes"). */
  feed: HTMLElement;
  price: HTMLElement;
  change: HTMLElement;
  pct: HTMLElement;
  high: HTMLElement;
  low: HTMLElement;
  volume: HTMLElement;
  chart: Sparkline;
  lastPrice?: number;
}

export function loadWatchlist(): string[] {
  try {
    const raw = localStorage.getItem(WATCHLIST_KEY);
    if (raw === null) return [...DEFAULT_WATCHLIST];
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [...DEFAULT_WATCHLIST];
    const out: string[] = [];
    for (const s of parsed) {
      try {
        const n = normaliseSymbol(String(s));
        if (!out.includes(n)) out.push(n);
      } catch {
        // skip garbage
      }
    }
    return out.slice(0, MAX_WATCHED);
  } catch {
    return [...DEFAULT_WATCHLIST];
  }
}

/** The watchlist: one card per symbol with live numbers and a chart. Remembered in localStorage. */
export class Watchlist {
  private readonly cards = new Map<string, Card>();
  private symbols: string[];

  constructor(
    private readonly container: HTMLElement,
    private readonly countEl: HTMLElement,
    private readonly market: Market,
    private readonly catalog: () => Map<string, AssetJson>,
  ) {
    this.symbols = loadWatchlist();
    market.onUpdates((batch) => this.apply(batch));
    market.onMarketState((symbols, state) => {
      for (const s of symbols) {
        const card = this.cards.get(s);
        if (card) this.renderMarket(card, state);
      }
    });
    market.onFeedNote((symbols, note) => {
      for (const s of symbols) {
        const card = this.cards.get(s);
        if (card) this.renderFeed(card, note);
      }
    });
  }

  get list(): string[] {
    return [...this.symbols];
  }

  has(symbol: string): boolean {
    return this.symbols.includes(symbol.toUpperCase());
  }

  /** Renders the saved list and subscribes it. */
  start(): void {
    for (const s of this.symbols) this.addCard(s);
    this.updateCount();
    void this.sync(); // never rejects: failures go to the page's notice line
  }

  /** Fills in names and types once the catalog has loaded. */
  refreshNames(): void {
    for (const card of this.cards.values()) this.fillMeta(card);
  }

  async add(input: string): Promise<boolean> {
    let symbol: string;
    try {
      symbol = normaliseSymbol(input);
    } catch {
      notify(`"${input.trim()}" is not a symbol`);
      return false;
    }
    if (this.has(symbol)) {
      notify(`${symbol} is already on your watchlist`);
      this.cards.get(symbol)?.root.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      return false;
    }
    if (this.symbols.length >= MAX_WATCHED) {
      notify(`A watchlist holds at most ${MAX_WATCHED} symbols`);
      return false;
    }
    const cat = this.catalog();
    if (cat.size > 0 && !cat.has(symbol)) {
      notify(`Unknown symbol: ${symbol}`);
      return false;
    }
    this.symbols.push(symbol);
    this.addCard(symbol);
    this.save();
    return this.sync();
  }

  remove(symbol: string): void {
    this.symbols = this.symbols.filter((s) => s !== symbol);
    const card = this.cards.get(symbol);
    if (card) {
      card.chart.destroy();
      card.root.remove();
      this.cards.delete(symbol);
    }
    this.save();
    this.updateCount();
    void this.sync();
  }

  private async sync(): Promise<boolean> {
    try {
      await this.market.need('watchlist', this.symbols);
      return true;
    } catch (err) {
      if (err instanceof RealtimeError && err.code === 'UNKNOWN_SYMBOL') {
        const bad = ((err.data as { symbols?: string[] })?.symbols ?? []).filter((s) => this.has(s));
        for (const s of bad) this.remove(s);
        notify(err.message);
      } else {
        notify(err instanceof Error ? err.message : String(err));
      }
      return false;
    }
  }

  private save(): void {
    try {
      localStorage.setItem(WATCHLIST_KEY, JSON.stringify(this.symbols));
    } catch {
      // storage full or disabled: the list still works for this visit
    }
  }

  private updateCount(): void {
    setText(this.countEl, `${this.symbols.length} symbol${this.symbols.length === 1 ? '' : 's'}`);
  }

  private addCard(symbol: string): void {
    const price = h('span', { class: 'price num', 'data-testid': 'price' }, '—');
    const change = h('span', { class: 'change num' }, '');
    const pct = h('span', { class: 'change-pct num' }, '');
    const high = h('b', { class: 'high num' }, '—');
    const low = h('b', { class: 'low num' }, '—');
    const volume = h('b', { class: 'volume num' }, '—');
    const name = h('span', { class: 'name' }, '');
    const type = h('span', { class: 'badge type' }, '');
    const marketState = h('span', { class: 'badge market', 'data-testid': 'market-state' }, '');
    const feed = h('span', { class: 'badge warn feed', 'data-testid': 'feed-state' }, '');
    const chartEl = h('div', { class: 'q-chart', 'aria-hidden': 'true' });
    const remove = h('button', { class: 'icon-btn remove', type: 'button', title: `Remove ${symbol}`, 'aria-label': `Remove ${symbol}` }, '×');
    const root = h(
      'article',
      { class: 'quote', 'data-symbol': symbol, 'data-testid': 'quote' },
      h('div', { class: 'q-head' }, h('span', { class: 'sym' }, symbol), name, type, marketState, feed, remove),
      h('div', { class: 'q-main' }, price, h('span', { class: 'chg' }, change, pct)),
      chartEl,
      h('div', { class: 'q-stats' }, h('span', {}, 'H ', high), h('span', {}, 'L ', low), h('span', {}, 'Vol ', volume)),
    );
    remove.addEventListener('click', () => this.remove(symbol));
    this.container.append(root);
    const card: Card = { symbol, root, name, type, market: marketState, feed, price, change, pct, high, low, volume, chart: new Sparkline(chartEl) };
    this.cards.set(symbol, card);
    this.fillMeta(card);
    this.updateCount();
    const known = this.market.quotes.get(symbol);
    if (known) this.render(card, known);
    this.renderFeed(card, this.market.feedNotes.get(symbol) ?? null);
    history(symbol, 30)
      .then((pts) => {
        if (this.cards.get(symbol) === card) card.chart.setHistory(pts);
      })
      .catch(() => {
        if (this.cards.get(symbol) === card) card.chart.setHistory([]);
      });
  }

  private fillMeta(card: Card): void {
    const info = this.catalog().get(card.symbol);
    if (!info) return;
    setText(card.name, info.name);
    card.name.title = info.name;
    setText(card.type, info.asset_type);
  }

  private apply(batch: Map<string, AssetUpdateData>): void {
    for (const [symbol, u] of batch) {
      const card = this.cards.get(symbol);
      if (card) this.render(card, u);
    }
  }

  private render(card: Card, u: AssetUpdateData): void {
    const type = this.catalog().get(card.symbol)?.asset_type;
    if (setText(card.price, formatPrice(u.price, type)) && card.lastPrice !== undefined && u.price !== card.lastPrice) {
      flash(card.price, u.price > card.lastPrice ? 'up' : 'down');
    }
    card.lastPrice = u.price;
    const cls = signClass(u.change);
    card.change.className = `change num ${cls}`;
    card.pct.className = `change-pct num ${cls}`;
    setText(card.change, formatChange(u.change, u.price, type));
    setText(card.pct, formatPercent(u.change_percent));
    setText(card.high, formatPrice(u.high, type));
    setText(card.low, formatPrice(u.low, type));
    setText(card.volume, formatVolume(u.volume));
    card.root.dataset.seq = String(u.seq);
    this.renderMarket(card, u.market_state);
    card.chart.push(u.price, u.as_of, u.previous_close);
  }

  /** The card's staleness badge while the feed cannot price the symbol; empty (hidden) once it can. */
  private renderFeed(card: Card, note: FeedNote | null): void {
    setText(card.feed, note?.text ?? '');
    if (note) card.feed.title = note.detail;
    else card.feed.removeAttribute('title');
  }

  /** The card's market badge ("market closed", ...); nothing for a server that does not send market_state. */
  private renderMarket(card: Card, state: MarketState | undefined): void {
    const label = state ? MARKET_STATE_LABELS[state] : undefined;
    setText(card.market, label ?? '');
    if (label) card.market.dataset.state = state;
    else delete card.market.dataset.state;
  }
}
