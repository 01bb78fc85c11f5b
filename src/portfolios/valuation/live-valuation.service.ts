import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { BusMessages, PriceTick } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { FAST_DELTA, FAST_QUANTITY, formatLimbs16, LIMB, limbsOf, limbsToBigInt, percentOfLimbs, splitLimb, TOP_LIMIT } from './fixed-limbs';
import { effectivePrices, formatFixed16, percentOf, staleAfterMs, toFixed8 } from './valuation.math';
import { PortfolioValuation, PortfolioValuationSource } from './valuation.types';

/** Live state of one symbol: its effective prices (fixed8) and who holds it. */
interface SymbolState {
  symbol: string;
  /** Raw prices as known (null = unknown). */
  price: bigint | null;
  prev: bigint | null;
  /** Effective prices used in sums (see effectivePrices). */
  effPrice: bigint;
  effPrev: bigint;
  /** As-of time in ms, NaN when never updated by a feed. */
  asOf: number;
  /** asOf as ISO 8601 (computed once per tick, not per portfolio), '' when never updated. */
  asOfIso: string;
  holdings: Holding[];
}

/** One position: portfolio × symbol × quantity (fixed8). */
interface Holding {
  p: PortfolioState;
  s: SymbolState;
  q: bigint;
  /** q in two base-10^7 limbs (q = qh·10^7 + ql) when q < 10^15; qh = -1 otherwise (BigInt path). */
  qh: number;
  ql: number;
}

/**
 * Running totals of one portfolio (fixed16). The current value is
 * Σ q × effPrice = big + t2·10^14 + t1·10^7 + t0 (fixed-limbs.ts): price
 * deltas are added into the three Number limbs (exact integers, kept below
 * 2^53 by carrying), so the hot path allocates nothing and formatting needs
 * no BigInt; `big` takes what does not fit (huge holdings or jumps).
 */
interface PortfolioState {
  id: number;
  ownerId: number;
  name: string;
  holdings: Holding[];
  big: bigint;
  t0: number;
  t1: number;
  t2: number;
  /** Σ q × effPrev (changes only when a previous close changes: BigInt is fine) and its limbs (null: too big). */
  prevTotal: bigint;
  prevLimbs: [number, number, number] | null;
  prevDirty: boolean;
  /** Positions whose symbol has no price. */
  unpriced: number;
  /** Batch stamp, to collect each touched portfolio once per batch without a Set. */
  mark: number;
}

interface PositionRow {
  portfolio_id: number;
  owner_id: number;
  name: string;
  symbol: string | null;
  quantity: string | null;
  current_price?: string | null;
  previous_close?: string | null;
  last_updated?: Date | string | null;
}

type Listener = (changed: PortfolioValuation[]) => void;

/**
 * The live portfolio valuation engine.
 *
 * Loaded once at start-up into memory: symbol → holdings, portfolio → running
 * totals, symbol → (price, previous close, as-of). On every committed price
 * batch ('prices.committed') it applies, per changed symbol, the delta
 * quantity × (new − old) to the portfolios holding it — one BigInt multiply-add
 * per holding, no per-position objects — and notifies listeners with the
 * touched portfolios only. On 'portfolio.changed' it reloads that one
 * portfolio with one query. Arithmetic is exact fixed-point (valuation.math.ts),
 * so the running totals always equal a full recount.
 *
 * Deleted portfolios are dropped from the index and NOT emitted (the hub
 * learns of deletions from the bus's 'portfolio.changed' {deleted: true}).
 */
@Injectable()
export class LiveValuationService extends PortfolioValuationSource implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Valuation');
  private readonly symbols = new Map<string, SymbolState>();
  private readonly portfolios = new Map<number, PortfolioState>();
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: (() => void)[] = [];
  /** Latest reload request per portfolio: older answers are dropped. */
  private readonly reloadGen = new Map<number, number>();
  /** Bus messages that arrived before the index was loaded. */
  private backlog: (() => void)[] | null = [];
  private loading?: Promise<void>;
  private epoch = 0;
  private readonly staleMs: number;
  private isWatched: ((portfolioId: number) => boolean) | null = null;
  private lastIsoMs = NaN;
  private lastIso = '';

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: MessageBus,
    config: AppConfig,
  ) {
    super();
    this.staleMs = staleAfterMs(config.REALTIME_UPDATE_INTERVAL);
  }

  onModuleInit(): void {
    // Subscribe before loading so nothing committed during the load is missed.
    this.unsubscribe.push(
      this.bus.subscribe('prices.committed', (m) => this.whenLoaded(() => this.onPrices(m))),
      this.bus.subscribe('portfolio.changed', (m) => this.whenLoaded(() => void this.onPortfolioChanged(m))),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.load();
  }

  onModuleDestroy(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------- public API

  async snapshot(portfolioId: number): Promise<PortfolioValuation | null> {
    if (!Number.isSafeInteger(portfolioId) || portfolioId <= 0) return null;
    await this.load();
    const p = this.portfolios.get(portfolioId);
    if (p) return this.valuationOf(p, Date.now());
    // Created after the load and its 'portfolio.changed' not processed yet: read it now.
    return this.reload(portfolioId, false);
  }

  override setInterest(isWatched: ((portfolioId: number) => boolean) | null): void {
    this.isWatched = isWatched;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of portfolios and positions in memory (status and tests). */
  stats(): { portfolios: number; positions: number; symbols: number } {
    let positions = 0;
    for (const p of this.portfolios.values()) positions += p.holdings.length;
    return { portfolios: this.portfolios.size, positions, symbols: this.symbols.size };
  }

  /** Loads the index from the database (once; concurrent callers share the load). */
  load(): Promise<void> {
    this.loading ??= this.loadAll().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  // ------------------------------------------------------------------ loading

  private async loadAll(): Promise<void> {
    const started = Date.now();
    const assets = (await this.db.query(
      'SELECT symbol, current_price, previous_close, last_updated FROM assets',
    )) as { symbol: string; current_price: string | null; previous_close: string | null; last_updated: Date | null }[];
    const rows = (await this.db.query(
      `SELECT p.id AS portfolio_id, p.owner_id, p.name, a.symbol, pos.quantity
         FROM portfolios p
         LEFT JOIN positions pos ON pos.portfolio_id = p.id
         LEFT JOIN assets a ON a.id = pos.asset_id
        ORDER BY p.id, pos.id`,
    )) as PositionRow[];
    for (const a of assets) {
      const existing = this.symbols.get(a.symbol);
      if (existing) continue; // a tick already arrived (loads only run once, but be safe)
      this.symbols.set(a.symbol, this.newSymbol(a.symbol, a.current_price, a.previous_close, a.last_updated));
    }
    let current: PortfolioState | undefined;
    for (const r of rows) {
      if (!current || current.id !== r.portfolio_id) {
        current = this.newPortfolio(r);
        this.portfolios.set(current.id, current);
      }
      if (r.symbol && r.quantity != null) this.addHolding(current, this.symbolFor(r), toFixed8(r.quantity)!);
    }
    for (const p of this.portfolios.values()) this.settle(p);
    const backlog = this.backlog ?? [];
    this.backlog = null;
    for (const fn of backlog) fn();
    const s = this.stats();
    this.logger.log(`Loaded ${s.portfolios} portfolios, ${s.positions} positions, ${s.symbols} symbols in ${Date.now() - started} ms`);
  }

  private whenLoaded(fn: () => void): void {
    if (this.backlog) this.backlog.push(fn);
    else fn();
  }

  private newSymbol(symbol: string, price: string | null | undefined, prev: string | null | undefined, asOf: Date | string | null | undefined): SymbolState {
    const p = toFixed8(price ?? null);
    const pc = toFixed8(prev ?? null);
    const [effPrice, effPrev] = effectivePrices(p, pc);
    const ms = asOf ? new Date(asOf).getTime() : NaN;
    return { symbol, price: p, prev: pc, effPrice, effPrev, asOf: ms, asOfIso: Number.isFinite(ms) ? new Date(ms).toISOString() : '', holdings: [] };
  }

  private symbolFor(r: PositionRow): SymbolState {
    let s = this.symbols.get(r.symbol!);
    if (!s) {
      s = this.newSymbol(r.symbol!, r.current_price, r.previous_close, r.last_updated);
      this.symbols.set(s.symbol, s);
    }
    return s;
  }

  private newPortfolio(r: PositionRow): PortfolioState {
    return {
      id: r.portfolio_id,
      ownerId: r.owner_id,
      name: r.name,
      holdings: [],
      big: 0n,
      t0: 0,
      t1: 0,
      t2: 0,
      prevTotal: 0n,
      prevLimbs: [0, 0, 0],
      prevDirty: false,
      unpriced: 0,
      mark: 0,
    };
  }

  /** After holdings were added (BigInt sums in `big`): move the total into the limbs when it fits. */
  private settle(p: PortfolioState): void {
    const total = this.totalOf(p);
    const limbs = limbsOf(total);
    if (limbs) {
      [p.t2, p.t1, p.t0] = limbs;
      p.big = 0n;
    } else {
      p.big = total;
      p.t0 = p.t1 = p.t2 = 0;
    }
    p.prevDirty = true;
  }

  private addHolding(p: PortfolioState, s: SymbolState, q: bigint): void {
    let qh = -1;
    let ql = 0;
    if (q >= 0n && q < FAST_QUANTITY) [qh, ql] = splitLimb(Number(q));
    const h: Holding = { p, s, q, qh, ql };
    p.holdings.push(h);
    s.holdings.push(h);
    p.big += q * s.effPrice;
    p.prevTotal += q * s.effPrev;
    if (s.price === null) p.unpriced++;
  }

  private removePortfolio(p: PortfolioState): void {
    for (const h of p.holdings) {
      const list = h.s.holdings;
      const i = list.indexOf(h);
      if (i >= 0) {
        list[i] = list[list.length - 1];
        list.pop();
      }
    }
    p.holdings = [];
    this.portfolios.delete(p.id);
  }

  // ------------------------------------------------------------- price ticks

  private onPrices(m: BusMessages['prices.committed']): void {
    const touched = this.applyTicks(m.ticks);
    if (touched.length > 0) this.emit(touched);
  }

  /**
   * Applies a batch of ticks to the running totals and returns the portfolios
   * it touched. Hot path: per changed symbol a couple of BigInt parses, per
   * holding one or two multiply-adds.
   */
  private applyTicks(ticks: readonly PriceTick[]): PortfolioState[] {
    const epoch = ++this.epoch;
    const touched: PortfolioState[] = [];
    for (const t of ticks) {
      let price: bigint | null;
      let prev: bigint | null | undefined;
      let asOf: number;
      try {
        price = toFixed8(t.price);
        prev = t.previous_close == null ? undefined : toFixed8(t.previous_close);
        asOf = Date.parse(t.as_of);
      } catch {
        this.logger.warn(`Ignored malformed tick for ${String(t?.symbol)}`);
        continue;
      }
      if (price === null || price <= 0n) continue;
      let s = this.symbols.get(t.symbol);
      if (!s) {
        s = this.newSymbol(t.symbol, null, null, null);
        this.symbols.set(t.symbol, s);
      }
      if (asOf < s.asOf) continue; // older than what we have: never roll a price back
      if (prev === undefined) prev = s.prev; // the tick did not say: keep the known previous close
      const [effPrice, effPrev] = effectivePrices(price, prev);
      const dPrice = effPrice - s.effPrice;
      const dPrev = effPrev - s.effPrev;
      const becamePriced = s.price === null;
      s.price = price;
      s.prev = prev;
      s.effPrice = effPrice;
      s.effPrev = effPrev;
      s.asOf = Number.isFinite(asOf) ? asOf : Date.now();
      s.asOfIso = new Date(s.asOf).toISOString();
      // The price delta in two limbs (d = dh·10^7 + dl, 0 ≤ dl < 10^7) when |d| < 10^14.
      const small = dPrice > -FAST_DELTA && dPrice < FAST_DELTA;
      const [dh, dl] = splitLimb(small ? Number(dPrice) : 0);
      const priceMoved = dPrice !== 0n;
      const prevMoved = dPrev !== 0n;
      const hs = s.holdings;
      for (let i = 0; i < hs.length; i++) {
        const h = hs[i];
        const p = h.p;
        if (priceMoved) {
          if (small && h.qh >= 0) {
            // Exact: every product < 10^15 and every sum < 2^53 (qh < 10^8, |dh| < 10^7, ql, dl < 10^7).
            let x = p.t0 + h.ql * dl;
            let c = Math.floor(x / LIMB);
            let r = x - c * LIMB;
            if (r < 0) {
              c--;
              r += LIMB;
            } else if (r >= LIMB) {
              c++;
              r -= LIMB;
            }
            p.t0 = r;
            x = p.t1 + h.qh * dl + h.ql * dh + c;
            c = Math.floor(x / LIMB);
            r = x - c * LIMB;
            if (r < 0) {
              c--;
              r += LIMB;
            } else if (r >= LIMB) {
              c++;
              r -= LIMB;
            }
            p.t1 = r;
            x = p.t2 + h.qh * dh + c;
            if (x > TOP_LIMIT || x < -TOP_LIMIT) {
              p.big += limbsToBigInt(x, 0, 0);
              x = 0;
            }
            p.t2 = x;
          } else {
            p.big += h.q * dPrice;
          }
        }
        if (prevMoved) {
          p.prevTotal += h.q * dPrev;
          p.prevDirty = true;
        }
        if (becamePriced) p.unpriced--;
        if (p.mark !== epoch) {
          p.mark = epoch;
          touched.push(p);
        }
      }
    }
    return touched;
  }

  // -------------------------------------------------------- portfolio edits

  private async onPortfolioChanged(m: BusMessages['portfolio.changed']): Promise<void> {
    try {
      if (m.deleted) {
        const p = this.portfolios.get(m.portfolio_id);
        this.reloadGen.set(m.portfolio_id, (this.reloadGen.get(m.portfolio_id) ?? 0) + 1);
        if (p) this.removePortfolio(p);
        return;
      }
      await this.reload(m.portfolio_id, true);
    } catch (err) {
      this.logger.error(`Reloading portfolio ${m.portfolio_id} failed: ${(err as Error).message}`);
    }
  }

  /** Re-reads one portfolio (one query), replaces it in the index, and optionally notifies. */
  private async reload(portfolioId: number, notify: boolean): Promise<PortfolioValuation | null> {
    const gen = (this.reloadGen.get(portfolioId) ?? 0) + 1;
    this.reloadGen.set(portfolioId, gen);
    const rows = (await this.db.query(
      `SELECT p.id AS portfolio_id, p.owner_id, p.name, a.symbol, pos.quantity,
              a.current_price, a.previous_close, a.last_updated
         FROM portfolios p
         LEFT JOIN positions pos ON pos.portfolio_id = p.id
         LEFT JOIN assets a ON a.id = pos.asset_id
        WHERE p.id = $1
        ORDER BY pos.id`,
      [portfolioId],
    )) as PositionRow[];
    if (this.reloadGen.get(portfolioId) !== gen) {
      // A newer reload is in flight; answer from whatever it leaves.
      const p = this.portfolios.get(portfolioId);
      return p ? this.valuationOf(p, Date.now()) : null;
    }
    const old = this.portfolios.get(portfolioId);
    if (old) this.removePortfolio(old);
    if (rows.length === 0) return null;
    const p = this.newPortfolio(rows[0]);
    for (const r of rows) if (r.symbol && r.quantity != null) this.addHolding(p, this.symbolFor(r), toFixed8(r.quantity)!);
    this.settle(p);
    this.portfolios.set(p.id, p);
    const v = this.valuationOf(p, Date.now());
    if (notify) this.notify([v]);
    return v;
  }

  // ------------------------------------------------------------------ output

  private emit(touched: PortfolioState[]): void {
    if (this.listeners.size === 0) return;
    const now = Date.now();
    const watched = this.isWatched;
    const out: PortfolioValuation[] = [];
    for (let i = 0; i < touched.length; i++) {
      if (watched && !watched(touched[i].id)) continue;
      out.push(this.valuationOf(touched[i], now));
    }
    if (out.length > 0) this.notify(out);
  }

  private notify(changed: PortfolioValuation[]): void {
    for (const l of this.listeners) {
      try {
        l(changed);
      } catch (err) {
        this.logger.error(`Valuation listener failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** Σ q × effPrice of a portfolio (fixed16), exact. */
  private totalOf(p: PortfolioState): bigint {
    return p.big + limbsToBigInt(p.t2, p.t1, p.t0);
  }

  /** total_value, daily_change and daily_change_percent: Number limbs when possible, BigInt otherwise. */
  private figures(p: PortfolioState): [total: string, change: string, percent: string] {
    if (p.prevDirty) {
      p.prevLimbs = limbsOf(p.prevTotal);
      p.prevDirty = false;
    }
    const pl = p.prevLimbs;
    if (p.big === 0n && pl) {
      let c0 = p.t0 - pl[2];
      let c1 = p.t1 - pl[1];
      let c2 = p.t2 - pl[0];
      if (c0 < 0) {
        c0 += LIMB;
        c1 -= 1;
      }
      if (c1 < 0) {
        c1 += LIMB;
        c2 -= 1;
      }
      return [formatLimbs16(p.t2, p.t1, p.t0), formatLimbs16(c2, c1, c0), percentOfLimbs(c2, c1, c0, pl[0], pl[1], pl[2])];
    }
    const total = this.totalOf(p);
    const change = total - p.prevTotal;
    return [formatFixed16(total), formatFixed16(change), percentOf(change, p.prevTotal)];
  }

  private isoOf(ms: number): string {
    if (ms !== this.lastIsoMs) {
      this.lastIsoMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  private valuationOf(p: PortfolioState, now: number): PortfolioValuation {
    let newest = -Infinity;
    let newestIso = '';
    let oldest = Infinity;
    let neverUpdated = false;
    const hs = p.holdings;
    for (let i = 0; i < hs.length; i++) {
      const sym = hs[i].s;
      const a = sym.asOf;
      if (a !== a) neverUpdated = true; // NaN
      else {
        if (a > newest) {
          newest = a;
          newestIso = sym.asOfIso;
        }
        if (a < oldest) oldest = a;
      }
    }
    const stale = p.unpriced > 0 || neverUpdated || (p.holdings.length > 0 && now - oldest > this.staleMs);
    const [total, change, percent] = this.figures(p);
    return {
      portfolio_id: p.id,
      owner_id: p.ownerId,
      name: p.name,
      total_value: total,
      daily_change: change,
      daily_change_percent: percent,
      positions_count: p.holdings.length,
      as_of: newestIso || this.isoOf(now),
      stale,
    };
  }
}
