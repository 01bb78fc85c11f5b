import type { PriceTick } from '../../bus/bus.messages';
import { FAST_DELTA, FAST_QUANTITY, formatLimbs16, LIMB, limbsOf, limbsToBigInt, percentOfLimbs, splitLimb, TOP_LIMIT } from './fixed-limbs';
import { divRound, FxPaths, type FxStep } from '../fx/fx-paths';
import { effectivePrices, formatFixed16, formatFixed8, percentOf, toFixed8 } from './valuation.math';
import type { PortfolioValuation, PositionValuation } from './valuation.types';

/** One asset's price state as the engine starts from it (NUMERIC columns as strings, as pg returns them). */
export interface SymbolPriceRow {
  symbol: string;
  current_price: string | null;
  previous_close: string | null;
  last_updated: Date | string | null;
  /** FOREX assets named XXXYYY are the exchange rates of portfolios in other base currencies (fx-paths.ts). */
  asset_type?: string | null;
}

/**
 * One row of the portfolios ⟕ positions ⟕ assets join: a portfolio with one of its positions, or with
 * symbol and quantity null when it has none. A single portfolio's reload also carries the asset's
 * prices (used for a symbol the engine does not know yet).
 */
export interface HoldingRow {
  portfolio_id: number;
  owner_id: number;
  name: string;
  /** The portfolio's base currency (default USD). */
  base_currency?: string | null;
  symbol: string | null;
  /** The asset's currency (default: the base currency). */
  currency?: string | null;
  quantity: string | null;
  current_price?: string | null;
  previous_close?: string | null;
  last_updated?: Date | string | null;
}

export type ValuationListener = (changed: PortfolioValuation[]) => void;

/** Where the engine reports what it ignores or what fails around it (Nest's Logger fits). */
export interface EngineLog {
  warn(message: string): void;
  error(message: string): void;
}

export interface ValuationEngineOptions {
  /** A valuation is stale when its oldest price is older than this (staleAfterMs of the feed interval). */
  staleMs: number;
  /** Default: the console. */
  log?: EngineLog;
}

/** Reads one portfolio's rows (ordered by position) for a reload; [] when it does not exist. */
export type ReadPortfolio = (portfolioId: number) => Promise<readonly HoldingRow[]>;

/** Live state of one symbol: its effective prices (fixed8) and who holds it. */
interface SymbolState {
  symbol: string;
  /** Index in ValuationEngine.symbolList (portfolios refer to their newest symbol by it). */
  idx: number;
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
  /**
   * Its holdings, in parallel: the objects (rare paths) and, for the hot loop, contiguous typed
   * arrays of the holder's slot and the quantity's limbs (hQh = -1: quantity off the fast path).
   * Only the first `n` entries are live.
   */
  holdings: Holding[];
  n: number;
  /** How many of them are off the fast path (hQh = -1). */
  slow: number;
  /**
   * Currency views (see ValuationEngine.viewFor): for a view, the symbol it converts and how; for an
   * asset, its views; for an exchange-rate pair, the views converted through it. null: none.
   */
  under: SymbolState | null;
  rate: FxRate | null;
  views: SymbolState[] | null;
  fxViews: SymbolState[] | null;
  hSlot: Int32Array;
  hQh: Int32Array;
  hQl: Int32Array;
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
 * One portfolio. Its running total of Σ q × effPrice (fixed16) is
 * big + T2[slot]·10^14 + T1[slot]·10^7 + T0[slot] (fixed-limbs.ts): price deltas
 * are added into the three Number limbs (exact integers below 2^53), kept in
 * typed arrays indexed by `slot` with the other per-batch fields, so the hot
 * loop walks contiguous memory and allocates nothing; `big` takes what does
 * not fit (huge holdings or jumps).
 */
interface PortfolioState {
  id: number;
  ownerId: number;
  name: string;
  slot: number;
  holdings: Holding[];
  /** The part of the total that does not fit the limbs (flag BIG of the slot is set when it may be non-zero). */
  big: bigint;
  /** Σ q × effPrev (changes only when a previous close changes: BigInt is fine); its limbs are pv0..pv2[slot]. */
  prevTotal: bigint;
  /** The symbol whose as-of is oldest[slot] when that bound is exact (see ValuationEngine.oldest). */
  oldestSym: SymbolState | null;
  /** Its base currency (holdings in other currencies are held through currency views). */
  base: string;
}

/**
 * The conversion of one currency into another, as fractions of the pairs' fixed8 prices: num / den
 * now, pnum / pden at their previous closes; recomputed when one of its pairs ticked (ver < fxVersion).
 * Converting a fixed8 price x is divRound(x × num, den): one rounding, half away from zero.
 */
interface FxRate {
  /** null: no path (the views stay unpriced: their holdings count as 0 and are stale). */
  steps: FxStep[] | null;
  ver: number;
  /** False while a pair has no price. */
  ok: boolean;
  num: bigint;
  den: bigint;
  pnum: bigint;
  pden: bigint;
  /** The oldest as-of among the pairs (NaN when one was never updated). */
  asOf: number;
}

const SCALE8 = 100_000_000n;

/** Bits of ValuationEngine.flags[slot]. */
const BIG = 1; // PortfolioState.big may be non-zero
const PREV_DIRTY = 2; // prevTotal changed: pv0..pv2 must be recomputed
const PREV_BIG = 4; // prevTotal does not fit the limbs
const TIMES_DIRTY = 8; // newest / oldest need a full recount (a symbol's as-of went back, see applyTicks)

/** Fast-path additions a slot's limbs can take before they must be carried (keeps every limb below 2^53). */
const CARRY_EVERY = 4;

/**
 * The live portfolio valuation engine: a plain class (no Nest, no SQL, no bus).
 * Its inputs are rows (load, reload) and price ticks; its outputs are
 * valuations and change notifications to its listeners. LiveValuationService
 * wires it to the database (repositories) and the bus.
 *
 * Loaded once at start-up into memory: symbol → holdings, portfolio → running
 * totals, symbol → (price, previous close, as-of). On every committed price
 * batch (applyPrices) it applies, per changed symbol, the delta
 * quantity × (new − old) to the portfolios holding it — Number multiply-adds
 * on typed arrays, no per-position objects — and notifies listeners with the
 * touched portfolios only (narrowed by setInterest). A changed portfolio is
 * reloaded from its rows (reload: newest request wins, see there).
 * Arithmetic is exact fixed-point (valuation.math.ts), so the running totals
 * always equal a full recount.
 *
 * Each portfolio also keeps its newest as-of (updated as its symbols tick), and
 * what it needs to tell staleness without a pass over its positions (counts of
 * unpriced and never-updated positions, a lower bound of the oldest as-of).
 *
 * Deleted portfolios (remove) are dropped from the index and NOT emitted (the hub
 * learns of deletions from the bus's 'portfolio.changed' {deleted: true}).
 */
export class ValuationEngine {
  private readonly log: EngineLog;
  private readonly symbols = new Map<string, SymbolState>();
  /** Symbols by SymbolState.idx. */
  private readonly symbolList: SymbolState[] = [];
  private readonly portfolios = new Map<number, PortfolioState>();
  private readonly listeners = new Set<ValuationListener>();
  /** Latest reload request per portfolio: older answers are dropped. */
  private readonly reloadGen = new Map<number, number>();
  /** The latest reload per portfolio: a superseded one answers with its result. */
  private readonly latestReload = new Map<number, Promise<PortfolioValuation | null>>();
  /**
   * Portfolios whose change must still be announced: a reload that notifies can be
   * superseded by one that does not (a snapshot read), and the announcement must not be lost.
   */
  private readonly notifyWanted = new Set<number>();
  private epoch = 0;
  private readonly staleMs: number;
  private isWatched: ((portfolioId: number) => boolean) | null = null;
  private lastIsoMs = NaN;
  private lastIso = '';
  private lastTickMs = NaN;
  private lastTickIso = '';

  // Per-portfolio hot state, indexed by PortfolioState.slot (see growSlots).
  private slotOwner: (PortfolioState | undefined)[] = [];
  private freeSlots: number[] = [];
  private slotCount = 0;
  /** The running total's limbs (normalised outside applyTicks: 0 ≤ t0, t1 < 10^7, |t2| ≤ TOP_LIMIT). */
  private t0 = new Float64Array(0);
  private t1 = new Float64Array(0);
  private t2 = new Float64Array(0);
  /** Fast-path additions since the slot's limbs were last carried (applyTicks only). */
  private pend = new Uint8Array(0);
  /** Batch stamp, to collect each touched portfolio once per batch. */
  private mark = new Int32Array(0);
  /** Newest as-of among the positions (-Infinity: none known) and the symbol that has it. */
  private newest = new Float64Array(0);
  private newestSym = new Int32Array(0);
  /**
   * A lower bound of the oldest as-of among the positions (Infinity: none known); exact when it
   * equals oldestSym.asOf. As-of times only grow, so "now − oldest ≤ staleMs" proves the portfolio
   * fresh without looking at its positions; they are re-read only when it may be stale.
   */
  private oldest = new Float64Array(0);
  /** prevTotal's limbs (valid unless PREV_DIRTY or PREV_BIG). */
  private pv0 = new Float64Array(0);
  private pv1 = new Float64Array(0);
  private pv2 = new Float64Array(0);
  private flags = new Uint8Array(0);
  /** What the output needs without touching the PortfolioState: id, owner, name, number of positions. */
  private ids = new Int32Array(0);
  private owners = new Int32Array(0);
  private names: string[] = [];
  private counts = new Int32Array(0);
  /** Positions whose symbol has no price, plus positions whose symbol was never updated (as-of NaN): stale while > 0. */
  private doubts = new Int32Array(0);
  /** Slots touched by the current batch (first `n` entries of applyTicks' result). */
  private touched = new Int32Array(0);
  /** The exchange-rate pairs (FOREX assets), from the load. */
  private readonly fx = new FxPaths();
  /** Conversions by "CUR>BASE". */
  private readonly rates = new Map<string, FxRate>();
  /** Currency views by "SYMBOL@BASE". */
  private readonly views = new Map<string, SymbolState>();
  /** Bumped by every tick of a pair that views convert through (their FxRate is then recomputed once). */
  private fxVersion = 0;

  constructor(options: ValuationEngineOptions) {
    this.staleMs = options.staleMs;
    this.log = options.log ?? { warn: (m) => console.warn(m), error: (m) => console.error(m) };
  }

  // ---------------------------------------------------------------- public API

  /** Current valuation of a loaded portfolio; null when the engine does not hold it. */
  valuation(portfolioId: number, now = Date.now()): PortfolioValuation | null {
    const p = this.portfolios.get(portfolioId);
    return p ? this.valuationOf(p.slot, now) : null;
  }

  /**
   * The positions of a loaded portfolio, valued from the engine's current prices (null when it
   * does not hold it). Off the hot path: BigInt per position, called only for subscribers that
   * want positions. Same figures as valuePortfolio (the REST API) for the same prices.
   */
  positions(portfolioId: number): PositionValuation[] | null {
    const p = this.portfolios.get(portfolioId);
    if (!p) return null;
    const out: PositionValuation[] = new Array(p.holdings.length);
    for (let i = 0; i < p.holdings.length; i++) {
      const h = p.holdings[i];
      // Each position's own figures are in its asset's currency (a view's underlying asset).
      const s = h.s.under ?? h.s;
      const mv = h.q * s.effPrice;
      const change = mv - h.q * s.effPrev;
      out[i] = {
        symbol: s.symbol,
        quantity: formatFixed8(h.q),
        current_price: s.price === null ? null : formatFixed8(s.price),
        previous_close: s.prev === null ? null : formatFixed8(s.prev),
        market_value: formatFixed16(mv),
        daily_change: formatFixed16(change),
        daily_change_percent: percentOf(change, h.q * s.effPrev),
        as_of: s.asOfIso === '' ? null : s.asOfIso,
      };
    }
    return out;
  }

  /** The ids of the portfolios the engine holds (read-only; the intraday recorder values each with valuation()). */
  portfolioIds(): number[] {
    return [...this.portfolios.keys()];
  }

  /** Narrows what price batches emit to watched portfolios (null: all). Reload notifications are never narrowed. */
  setInterest(isWatched: ((portfolioId: number) => boolean) | null): void {
    this.isWatched = isWatched;
  }

  onChange(listener: ValuationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clearListeners(): void {
    this.listeners.clear();
  }

  /** Number of portfolios and positions in memory (status and tests). */
  stats(): { portfolios: number; positions: number; symbols: number } {
    let positions = 0;
    for (const p of this.portfolios.values()) positions += p.holdings.length;
    return { portfolios: this.portfolios.size, positions, symbols: this.symbols.size };
  }

  // ------------------------------------------------------------------ loading

  /**
   * The start state: every asset's prices and every portfolio's rows, ordered by portfolio
   * (then position). Runs once, before any tick or reload. Throws a RangeError on ids that
   * are not 32-bit integers.
   */
  load(assets: readonly SymbolPriceRow[], rows: readonly HoldingRow[]): void {
    for (const a of assets) {
      const existing = this.symbols.get(a.symbol);
      if (a.asset_type === 'FOREX') this.fx.add(a.symbol);
      if (existing) continue; // a tick already arrived (loads only run once, but be safe)
      this.addSymbol(a.symbol, a.current_price, a.previous_close, a.last_updated);
    }
    let current: PortfolioState | undefined;
    for (const r of rows) {
      if (!current || current.id !== r.portfolio_id) {
        current = this.newPortfolio(r);
        this.portfolios.set(current.id, current);
      }
      if (r.symbol && r.quantity != null) this.addHolding(current, this.holdingSymbol(current, r), toFixed8(r.quantity)!);
    }
    for (const p of this.portfolios.values()) this.settle(p);
  }

  /**
   * What a position row is valued with: its asset, or, when the asset's currency is not the
   * portfolio's base currency, the asset's view in that base currency.
   */
  private holdingSymbol(p: PortfolioState, r: HoldingRow): SymbolState {
    const s = this.symbolFor(r);
    const cur = r.currency && /^[A-Z]{3}$/.test(r.currency) ? r.currency : p.base;
    return cur === p.base ? s : this.viewFor(s, cur, p.base);
  }

  /**
   * A currency view: a symbol of its own whose price is the asset's converted into `base` and
   * rounded to 8 places (half away from zero), so that portfolios in other currencies take the
   * same fast path as the others. It is updated whenever the asset or one of the pairs it converts
   * through ticks; its as-of is the older of the asset's and the pairs' (a stale rate makes the
   * holding stale). Without a rate (no path, a pair without a price) it has no price: the holding
   * counts as 0 and the valuation is stale.
   */
  private viewFor(s: SymbolState, currency: string, base: string): SymbolState {
    const key = `${s.symbol}@${base}`;
    const known = this.views.get(key);
    if (known) return known;
    const rateKey = `${currency}>${base}`;
    let rate = this.rates.get(rateKey);
    if (!rate) {
      rate = { steps: this.fx.path(currency, base), ver: -1, ok: false, num: 1n, den: 1n, pnum: 1n, pden: 1n, asOf: NaN };
      this.rates.set(rateKey, rate);
      for (const step of rate.steps ?? []) {
        const pair = this.symbols.get(step.symbol) ?? this.addSymbol(step.symbol, null, null, null);
        (pair.fxViews ??= []).push(...[]); // registered per view below
      }
    }
    const v = this.addSymbol(key, null, null, null, false);
    v.under = s;
    v.rate = rate;
    (s.views ??= []).push(v);
    for (const step of rate.steps ?? []) (this.symbols.get(step.symbol)!.fxViews ??= []).push(v);
    this.views.set(key, v);
    const c = this.converted(v);
    if (c) {
      const [price, prev, asOf] = c;
      const [effPrice, effPrev] = effectivePrices(price, prev);
      v.price = price;
      v.prev = prev;
      v.effPrice = effPrice;
      v.effPrev = effPrev;
      v.asOf = asOf;
      v.asOfIso = Number.isFinite(asOf) ? new Date(asOf).toISOString() : '';
    }
    return v;
  }

  /** A view's price, previous close and as-of from its asset and rate now; null while either has no price. */
  private converted(v: SymbolState): [bigint, bigint | null, number] | null {
    const r = v.rate!;
    if (r.ver !== this.fxVersion) this.refreshRate(r);
    const s = v.under!;
    if (!r.ok || s.price === null) return null;
    const price = divRound(s.price * r.num, r.den);
    const prev = s.prev === null ? null : divRound(s.prev * r.pnum, r.pden);
    const asOf = s.asOf !== s.asOf || r.asOf !== r.asOf ? NaN : Math.min(s.asOf, r.asOf);
    return [price, prev, asOf];
  }

  /** Recomputes a conversion from its pairs' current prices and previous closes (fixed8). */
  private refreshRate(r: FxRate): void {
    r.ver = this.fxVersion;
    r.ok = r.steps !== null;
    r.num = r.den = r.pnum = r.pden = 1n;
    r.asOf = Infinity;
    for (const step of r.steps ?? []) {
      const s = this.symbols.get(step.symbol);
      if (!s || s.price === null) {
        r.ok = false;
        return;
      }
      const [price, prev] = effectivePrices(s.price, s.prev);
      if (step.divide) {
        r.num *= SCALE8;
        r.den *= price;
        r.pnum *= SCALE8;
        r.pden *= prev;
      } else {
        r.num *= price;
        r.den *= SCALE8;
        r.pnum *= prev;
        r.pden *= SCALE8;
      }
      if (!(s.asOf >= r.asOf)) r.asOf = s.asOf;
    }
  }

  private addSymbol(
    symbol: string,
    price: string | null | undefined,
    prev: string | null | undefined,
    asOf: Date | string | null | undefined,
    register = true,
  ): SymbolState {
    const p = toFixed8(price ?? null);
    const pc = toFixed8(prev ?? null);
    const [effPrice, effPrev] = effectivePrices(p, pc);
    const ms = asOf ? new Date(asOf).getTime() : NaN;
    const s: SymbolState = {
      symbol,
      idx: this.symbolList.length,
      price: p,
      prev: pc,
      effPrice,
      effPrev,
      asOf: ms,
      asOfIso: Number.isFinite(ms) ? new Date(ms).toISOString() : '',
      holdings: [],
      n: 0,
      slow: 0,
      under: null,
      rate: null,
      views: null,
      fxViews: null,
      hSlot: new Int32Array(4),
      hQh: new Int32Array(4),
      hQl: new Int32Array(4),
    };
    this.symbolList.push(s);
    if (register) this.symbols.set(symbol, s);
    return s;
  }

  private symbolFor(r: HoldingRow): SymbolState {
    return this.symbols.get(r.symbol!) ?? this.addSymbol(r.symbol!, r.current_price, r.previous_close, r.last_updated);
  }

  private newPortfolio(r: HoldingRow): PortfolioState {
    // The output reads ids from Int32Arrays: portfolios.id and users.id are PostgreSQL integers.
    if ((r.portfolio_id | 0) !== r.portfolio_id || (r.owner_id | 0) !== r.owner_id) {
      throw new RangeError(`portfolio ${r.portfolio_id} / owner ${r.owner_id}: ids must be 32-bit integers`);
    }
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      if (this.slotCount === this.t0.length) this.growSlots();
      slot = this.slotCount++;
    }
    const p: PortfolioState = {
      id: r.portfolio_id,
      ownerId: r.owner_id,
      name: r.name,
      slot,
      holdings: [],
      big: 0n,
      prevTotal: 0n,
      oldestSym: null,
      base: r.base_currency && /^[A-Z]{3}$/.test(r.base_currency) ? r.base_currency : 'USD',
    };
    this.slotOwner[slot] = p;
    this.t0[slot] = this.t1[slot] = this.t2[slot] = 0;
    this.pend[slot] = 0;
    this.mark[slot] = 0;
    this.newest[slot] = -Infinity;
    this.newestSym[slot] = -1;
    this.oldest[slot] = Infinity;
    this.pv0[slot] = this.pv1[slot] = this.pv2[slot] = 0;
    this.flags[slot] = 0;
    this.ids[slot] = p.id;
    this.owners[slot] = p.ownerId;
    this.names[slot] = p.name;
    this.counts[slot] = 0;
    this.doubts[slot] = 0;
    return p;
  }

  /** Doubles the capacity of the per-slot arrays. */
  private growSlots(): void {
    const cap = Math.max(1024, this.t0.length * 2);
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.t0 = grow(this.t0, (n) => new Float64Array(n));
    this.t1 = grow(this.t1, (n) => new Float64Array(n));
    this.t2 = grow(this.t2, (n) => new Float64Array(n));
    this.pend = grow(this.pend, (n) => new Uint8Array(n));
    this.mark = grow(this.mark, (n) => new Int32Array(n));
    this.newest = grow(this.newest, (n) => new Float64Array(n));
    this.newestSym = grow(this.newestSym, (n) => new Int32Array(n));
    this.oldest = grow(this.oldest, (n) => new Float64Array(n));
    this.pv0 = grow(this.pv0, (n) => new Float64Array(n));
    this.pv1 = grow(this.pv1, (n) => new Float64Array(n));
    this.pv2 = grow(this.pv2, (n) => new Float64Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.ids = grow(this.ids, (n) => new Int32Array(n));
    this.owners = grow(this.owners, (n) => new Int32Array(n));
    this.counts = grow(this.counts, (n) => new Int32Array(n));
    this.doubts = grow(this.doubts, (n) => new Int32Array(n));
    this.touched = new Int32Array(cap);
  }

  /** After holdings were added (BigInt sums in `big`): move the total into the limbs when it fits; count the as-of times. */
  private settle(p: PortfolioState): void {
    const total = this.totalOf(p);
    const limbs = limbsOf(total);
    const k = p.slot;
    if (limbs) {
      [this.t2[k], this.t1[k], this.t0[k]] = limbs;
      p.big = 0n;
      this.flags[k] = PREV_DIRTY;
    } else {
      p.big = total;
      this.t0[k] = this.t1[k] = this.t2[k] = 0;
      this.flags[k] = PREV_DIRTY | BIG;
    }
    this.recountTimes(p);
  }

  /** Exact newest and oldest as-of, and the unpriced + never-updated count, from the positions. */
  private recountTimes(p: PortfolioState): void {
    let newest = -Infinity;
    let newestSym = -1;
    let oldest = Infinity;
    let oldestSym: SymbolState | null = null;
    let doubts = 0;
    const hs = p.holdings;
    for (let i = 0; i < hs.length; i++) {
      const s = hs[i].s;
      const a = s.asOf;
      if (s.price === null) doubts++;
      if (a !== a)
        doubts++; // NaN
      else {
        if (a > newest) {
          newest = a;
          newestSym = s.idx;
        }
        if (a < oldest) {
          oldest = a;
          oldestSym = s;
        }
      }
    }
    this.newest[p.slot] = newest;
    this.newestSym[p.slot] = newestSym;
    this.oldest[p.slot] = oldest;
    p.oldestSym = oldestSym;
    this.doubts[p.slot] = doubts;
    this.flags[p.slot] &= ~TIMES_DIRTY;
  }

  private addHolding(p: PortfolioState, s: SymbolState, q: bigint): void {
    let qh = -1;
    let ql = 0;
    if (q >= 0n && q < FAST_QUANTITY) [qh, ql] = splitLimb(Number(q));
    const h: Holding = { p, s, q, qh, ql };
    p.holdings.push(h);
    this.counts[p.slot]++;
    if (s.n === s.hSlot.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      s.hSlot = grow(s.hSlot);
      s.hQh = grow(s.hQh);
      s.hQl = grow(s.hQl);
    }
    s.holdings[s.n] = h;
    s.hSlot[s.n] = p.slot;
    s.hQh[s.n] = qh;
    s.hQl[s.n] = ql;
    s.n++;
    if (qh < 0) s.slow++;
    p.big += q * s.effPrice;
    p.prevTotal += q * s.effPrev;
    if (s.price === null) this.doubts[p.slot]++;
    if (s.asOf !== s.asOf) this.doubts[p.slot]++;
  }

  private removePortfolio(p: PortfolioState): void {
    for (const h of p.holdings) {
      const s = h.s;
      const i = s.holdings.indexOf(h);
      if (i < 0 || i >= s.n) continue;
      if (h.qh < 0) s.slow--;
      const last = --s.n;
      s.holdings[i] = s.holdings[last];
      s.hSlot[i] = s.hSlot[last];
      s.hQh[i] = s.hQh[last];
      s.hQl[i] = s.hQl[last];
      s.holdings.pop();
    }
    p.holdings = [];
    this.portfolios.delete(p.id);
    this.slotOwner[p.slot] = undefined;
    this.names[p.slot] = '';
    this.freeSlots.push(p.slot);
  }

  // ------------------------------------------------------------- price ticks

  /**
   * Applies a committed price batch and notifies the listeners with the touched portfolios
   * (the watched ones, see setInterest). Returns how many portfolios it touched.
   */
  applyPrices(ticks: readonly PriceTick[]): number {
    const n = this.applyTicks(ticks);
    if (n > 0) this.emit(n);
    return n;
  }

  /** Carries slot k's limbs into range (exact for |limb| < 2^53); folds an oversized top limb into `big`. */
  private carry(k: number): void {
    const T0 = this.t0;
    const T1 = this.t1;
    const T2 = this.t2;
    let x = T0[k];
    let c = Math.floor(x / LIMB);
    let r = x - c * LIMB;
    if (r < 0) {
      c--;
      r += LIMB;
    } else if (r >= LIMB) {
      c++;
      r -= LIMB;
    }
    T0[k] = r;
    x = T1[k] + c;
    c = Math.floor(x / LIMB);
    r = x - c * LIMB;
    if (r < 0) {
      c--;
      r += LIMB;
    } else if (r >= LIMB) {
      c++;
      r -= LIMB;
    }
    T1[k] = r;
    x = T2[k] + c;
    if (x > TOP_LIMIT || x < -TOP_LIMIT) {
      const p = this.slotOwner[k]!;
      p.big += limbsToBigInt(x, 0, 0);
      this.flags[k] |= BIG;
      x = 0;
    }
    T2[k] = x;
  }

  /**
   * Applies a batch of ticks to the running totals and returns how many
   * portfolios it touched (their slots are the first entries of this.touched).
   * Hot path: per changed symbol a couple of BigInt parses; per holding three
   * Number multiply-adds on typed arrays. Carries are deferred: a slot's limbs
   * take CARRY_EVERY additions (each product < 1.1·10^15, |t2| ≤ TOP_LIMIT
   * before) and stay below 2^53, then are carried; every touched slot is
   * carried at the end of the batch. Everything that is rare (BigInt path,
   * previous-close changes, first prices and times) runs in a second loop over
   * the symbol's holdings only when needed.
   */
  private applyTicks(ticks: readonly PriceTick[]): number {
    if (this.epoch >= 0x7fffffff) {
      this.mark.fill(0);
      this.epoch = 0;
    }
    const epoch = ++this.epoch;
    const touched = this.touched;
    let tc = 0;
    for (const t of ticks) {
      let price: bigint | null;
      let prev: bigint | null | undefined;
      let asOf: number;
      try {
        price = toFixed8(t.price);
        prev = t.previous_close == null ? undefined : toFixed8(t.previous_close);
        asOf = Date.parse(t.as_of);
      } catch {
        this.log.warn(`Ignored malformed tick for ${String(t?.symbol)}`);
        continue;
      }
      if (price === null || price <= 0n) continue;
      const s = this.symbols.get(t.symbol) ?? this.addSymbol(t.symbol, null, null, null);
      if (asOf < s.asOf) continue; // older than what we have: never roll a price back
      if (prev === undefined) prev = s.prev; // the tick did not say: keep the known previous close
      tc = this.applySymbol(s, price, prev, asOf, epoch, tc);
      if (s.views !== null) for (const v of s.views) tc = this.applyView(v, epoch, tc);
      if (s.fxViews !== null) {
        // An exchange rate moved: every view converted through it is repriced.
        this.fxVersion++;
        for (const v of s.fxViews) tc = this.applyView(v, epoch, tc);
      }
    }
    for (let i = 0; i < tc; i++) this.carry(touched[i]);
    return tc;
  }

  /** A currency view repriced from its asset and rate (see viewFor), when that changes anything. */
  private applyView(v: SymbolState, epoch: number, tc: number): number {
    const c = this.converted(v);
    if (c === null) return tc;
    const [price, prev, asOf] = c;
    if (price === v.price && prev === v.prev && (asOf === v.asOf || (asOf !== asOf && v.asOf !== v.asOf))) return tc;
    return this.applySymbol(v, price, prev, asOf, epoch, tc);
  }

  /**
   * One symbol's new price, previous close and as-of applied to the running totals of its holders
   * (applyTicks; the touched slots are appended to this.touched from `tc`, the new count is returned).
   */
  private applySymbol(s: SymbolState, price: bigint, prev: bigint | null, asOf: number, epoch: number, tc: number): number {
    const MARK = this.mark;
    const PEND = this.pend;
    const T0 = this.t0;
    const T1 = this.t1;
    const T2 = this.t2;
    const NEWEST = this.newest;
    const NEWSYM = this.newestSym;
    const touched = this.touched;
    const OLDEST = this.oldest;
    const FLAGS = this.flags;
    const DOUBTS = this.doubts;
    const [effPrice, effPrev] = effectivePrices(price, prev);
    const dPrice = effPrice - s.effPrice;
    const dPrev = effPrev - s.effPrev;
    const becamePriced = s.price === null;
    const oldAsOf = s.asOf;
    s.price = price;
    s.prev = prev;
    s.effPrice = effPrice;
    s.effPrev = effPrev;
    const a = Number.isFinite(asOf) ? asOf : Date.now();
    if (a !== this.lastTickMs) {
      this.lastTickMs = a;
      this.lastTickIso = new Date(a).toISOString();
    }
    s.asOf = a;
    s.asOfIso = this.lastTickIso;
    // The price delta in two limbs (d = dh·10^7 + dl, 0 ≤ dl < 10^7) when |d| < 10^14.
    const priceMoved = dPrice !== 0n;
    const small = dPrice > -FAST_DELTA && dPrice < FAST_DELTA;
    const fast = priceMoved && small;
    const [dh, dl] = splitLimb(fast ? Number(dPrice) : 0);
    const prevMoved = dPrev !== 0n;
    const firstTime = oldAsOf !== oldAsOf; // was never updated (NaN)
    const wentBack = a < oldAsOf; // only when an unreadable as-of fell back to our clock
    const n = s.n;
    const SL = s.hSlot;
    const QH = s.hQh;
    const QL = s.hQl;
    const sIdx = s.idx;
    for (let i = 0; i < n; i++) {
      const k = SL[i];
      if (MARK[k] !== epoch) {
        MARK[k] = epoch;
        PEND[k] = 0;
        touched[tc++] = k;
      }
      if (a > NEWEST[k]) {
        NEWEST[k] = a;
        NEWSYM[k] = sIdx;
      }
      if (fast) {
        const qh = QH[i];
        if (qh >= 0) {
          // Exact: every product < 1.1·10^15 (qh < 10^8, |dh| ≤ 10^7, ql, dl < 10^7).
          const ql = QL[i];
          T0[k] += ql * dl;
          T1[k] += qh * dl + ql * dh;
          T2[k] += qh * dh;
          if (++PEND[k] === CARRY_EVERY) {
            this.carry(k);
            PEND[k] = 0;
          }
        }
      }
    }
    if ((priceMoved && !small) || (fast && s.slow > 0) || prevMoved || becamePriced || firstTime || wentBack) {
      const hs = s.holdings;
      for (let i = 0; i < n; i++) {
        const h = hs[i];
        const p = h.p;
        const k = p.slot;
        if (priceMoved && (!small || h.qh < 0)) {
          p.big += h.q * dPrice;
          FLAGS[k] |= BIG;
        }
        if (prevMoved) {
          p.prevTotal += h.q * dPrev;
          FLAGS[k] |= PREV_DIRTY;
        }
        if (becamePriced) DOUBTS[k]--;
        if (firstTime) {
          DOUBTS[k]--;
          if (a < OLDEST[k]) {
            OLDEST[k] = a;
            p.oldestSym = s;
          }
        }
        if (wentBack) FLAGS[k] |= TIMES_DIRTY;
      }
    }
    return tc;
  }

  // -------------------------------------------------------- portfolio edits

  /**
   * A deleted portfolio: dropped from the index, not emitted. Any reload of it still in
   * flight is superseded (its rows are ignored) and a pending announcement is dropped.
   */
  remove(portfolioId: number): void {
    const p = this.portfolios.get(portfolioId);
    this.reloadGen.set(portfolioId, (this.reloadGen.get(portfolioId) ?? 0) + 1);
    this.notifyWanted.delete(portfolioId);
    this.latestReload.delete(portfolioId);
    if (p) this.removePortfolio(p);
  }

  /**
   * Re-reads one portfolio (`read`: its rows, [] when it no longer exists), replaces it in
   * the index, and notifies the listeners when asked (never narrowed by setInterest). Reload
   * generations: only the newest request per portfolio applies its rows. When a newer reload
   * starts meanwhile, this one answers with the newer one's result, and the newer one
   * notifies if either asked to (a notifying reload superseded by a snapshot's read is not
   * lost). Rejects when `read` does.
   */
  reload(portfolioId: number, notify: boolean, read: ReadPortfolio): Promise<PortfolioValuation | null> {
    const gen = (this.reloadGen.get(portfolioId) ?? 0) + 1;
    this.reloadGen.set(portfolioId, gen);
    if (notify) this.notifyWanted.add(portfolioId);
    const run = this.readAndReplace(portfolioId, gen, read);
    this.latestReload.set(portfolioId, run);
    void run
      .finally(() => {
        if (this.latestReload.get(portfolioId) === run) this.latestReload.delete(portfolioId);
      })
      .catch(() => undefined);
    return run;
  }

  private async readAndReplace(portfolioId: number, gen: number, read: ReadPortfolio): Promise<PortfolioValuation | null> {
    const rows = await read(portfolioId);
    if (this.reloadGen.get(portfolioId) !== gen) {
      // A newer reload is in flight: its answer is the current one.
      const newer = this.latestReload.get(portfolioId);
      if (newer) return newer;
      const p = this.portfolios.get(portfolioId);
      return p ? this.valuationOf(p.slot, Date.now()) : null;
    }
    const old = this.portfolios.get(portfolioId);
    if (old) this.removePortfolio(old);
    const notify = this.notifyWanted.delete(portfolioId);
    if (rows.length === 0) return null;
    const p = this.newPortfolio(rows[0]);
    for (const r of rows) if (r.symbol && r.quantity != null) this.addHolding(p, this.holdingSymbol(p, r), toFixed8(r.quantity)!);
    this.settle(p);
    this.portfolios.set(p.id, p);
    const v = this.valuationOf(p.slot, Date.now());
    if (notify) this.notify([v]);
    return v;
  }

  // ------------------------------------------------------------------ output

  private emit(count: number): void {
    if (this.listeners.size === 0) return;
    const now = Date.now();
    const watched = this.isWatched;
    const touched = this.touched;
    const ids = this.ids;
    const out: PortfolioValuation[] = [];
    for (let i = 0; i < count; i++) {
      const k = touched[i];
      if (watched && !watched(ids[k])) continue;
      out.push(this.valuationOf(k, now));
    }
    if (out.length > 0) this.notify(out);
  }

  private notify(changed: PortfolioValuation[]): void {
    for (const l of this.listeners) {
      try {
        l(changed);
      } catch (err) {
        this.log.error(`Valuation listener failed: ${String((err as Error)?.stack ?? err)}`);
      }
    }
  }

  /** Σ q × effPrice of a portfolio (fixed16), exact. */
  private totalOf(p: PortfolioState): bigint {
    const k = p.slot;
    return p.big + limbsToBigInt(this.t2[k], this.t1[k], this.t0[k]);
  }

  private isoOf(ms: number): string {
    if (ms !== this.lastIsoMs) {
      this.lastIsoMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  /**
   * Stale: a position without a price or never updated, or the oldest as-of
   * older than staleMs. oldest[slot] is a lower bound, so a fresh answer needs
   * no pass over the positions; a possibly stale one is confirmed by oldestSym
   * (still that old) or by a recount.
   */
  private isStale(k: number, now: number): boolean {
    if (this.doubts[k] > 0) return true;
    if (!(now - this.oldest[k] > this.staleMs)) return false;
    const p = this.slotOwner[k]!;
    const o = p.oldestSym;
    if (o === null || o.asOf !== this.oldest[k]) this.recountTimes(p);
    if (this.doubts[k] > 0) return true;
    return now - this.oldest[k] > this.staleMs;
  }

  /**
   * The published valuation. total_value, daily_change and daily_change_percent
   * come from the Number limbs when possible (no BigInt), from the BigInt
   * totals otherwise; both give the same strings.
   */
  private valuationOf(k: number, now: number): PortfolioValuation {
    let f = this.flags[k];
    if (f & TIMES_DIRTY) {
      this.recountTimes(this.slotOwner[k]!);
      f &= ~TIMES_DIRTY;
    }
    const stale = this.isStale(k, now);
    const asOf = this.newest[k] === -Infinity ? this.isoOf(now) : this.symbolList[this.newestSym[k]].asOfIso;
    if (f & PREV_DIRTY) {
      const pl = limbsOf(this.slotOwner[k]!.prevTotal);
      if (pl) {
        this.pv2[k] = pl[0];
        this.pv1[k] = pl[1];
        this.pv0[k] = pl[2];
        f &= ~(PREV_DIRTY | PREV_BIG);
      } else f = (f & ~PREV_DIRTY) | PREV_BIG;
      this.flags[k] = f;
    }
    let total: string;
    let change: string;
    let percent: string;
    if ((f & (BIG | PREV_BIG)) === 0) {
      const t0 = this.t0[k];
      const t1 = this.t1[k];
      const t2 = this.t2[k];
      const p0 = this.pv0[k];
      const p1 = this.pv1[k];
      const p2 = this.pv2[k];
      let c0 = t0 - p0;
      let c1 = t1 - p1;
      let c2 = t2 - p2;
      if (c0 < 0) {
        c0 += LIMB;
        c1 -= 1;
      }
      if (c1 < 0) {
        c1 += LIMB;
        c2 -= 1;
      }
      total = formatLimbs16(t2, t1, t0);
      change = formatLimbs16(c2, c1, c0);
      percent = percentOfLimbs(c2, c1, c0, p2, p1, p0);
    } else {
      const p = this.slotOwner[k]!;
      const t = this.totalOf(p);
      const c = t - p.prevTotal;
      total = formatFixed16(t);
      change = formatFixed16(c);
      percent = percentOf(c, p.prevTotal);
    }
    return {
      portfolio_id: this.ids[k],
      owner_id: this.owners[k],
      name: this.names[k],
      total_value: total,
      daily_change: change,
      daily_change_percent: percent,
      positions_count: this.counts[k],
      as_of: asOf,
      stale,
    };
  }
}
