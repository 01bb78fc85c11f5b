import { dec } from '../../common/decimal';
import type { PortfolioValuation, PositionValuation } from '../../portfolios/valuation/valuation.types';
import type { PortfolioUpdateData } from '../protocol/server-messages';
import type { Connection } from './connection';
import type { OutboundFlow } from './outbound-flow';
import { OutboundFrame } from './outbound-frame';
import { toPortfolioUpdate } from './portfolio-update.mapper';
import type { PortfolioTopic } from './subscription-index';

/** A connection's portfolio push options (set_options `portfolio_*`), in the units the hub uses. */
export interface PortfolioPushOptions {
  /** 0: every change; else the least move of total_value (basis points of the last pushed value) that is pushed. */
  minChangeBps: number;
  /** 0: off; else a held-back change is pushed at the latest this long after the last push. */
  maxIntervalMs: number;
  /** Add `positions` to the pushes. */
  positions: boolean;
}

export const DEFAULT_PORTFOLIO_PUSH: PortfolioPushOptions = { minChangeBps: 0, maxIntervalMs: 0, positions: false };

/** The shared timer of held-back changes never runs more often than this (ms): one timer for every connection. */
export const MIN_CHECK_MS = 100;

/** What was last pushed of one portfolio to one connection, and the change held back since. */
interface PushedPortfolio {
  readonly conn: Connection;
  readonly topic: PortfolioTopic;
  /** Last pushed total_value (null: nothing pushed under these options yet, the next valuation goes out). */
  total: string | null;
  change: string;
  name: string;
  count: number;
  stale: boolean;
  /** When the last push went out (ms epoch). */
  at: number;
  /** The seq of the last push (the pong's last_seq). */
  seq: number;
  /** The newest valuation held back and its seq (null: nothing held back). */
  pending: PortfolioValuation | null;
  pendingSeq: number;
  /** When the held-back change is due (at + maxIntervalMs); 0 when not waiting. */
  due: number;
  /** Figures of the positions last pushed, by symbol (null: the next push lists every position). */
  positions: Map<string, string> | null;
}

/** Connection.portfolioPush: present only on connections with non-default options. */
export interface PortfolioPushState {
  options: PortfolioPushOptions;
  readonly portfolios: Map<number, PushedPortfolio>;
}

const isDefault = (o: PortfolioPushOptions) => o.minChangeBps === 0 && o.maxIntervalMs === 0 && !o.positions;
const figures = (p: PositionValuation) => `${p.quantity}|${p.current_price ?? ''}|${p.previous_close ?? ''}`;

/**
 * Per-connection portfolio push options: a minimum change (basis points of total value,
 * against the value last pushed to that connection), a maximum interval for changes held
 * back by it, and the per-position breakdown (every position on the first push, then only
 * the changed ones). Connections without options never reach this class: the hub hands
 * them the shared frame as before.
 *
 * Held-back changes wait in one set, checked by ONE timer for all connections, set for the
 * earliest due change (at most every MIN_CHECK_MS), and on the next valuation event of
 * that portfolio. No timer per connection.
 */
export class PortfolioPushes {
  private readonly waiting = new Set<PushedPortfolio>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private lastCheck = 0;

  constructor(
    private readonly flow: OutboundFlow,
    /** The portfolio's positions now (PortfolioValuationSource.positions). */
    private readonly positionsOf: (portfolioId: number) => PositionValuation[] | null,
  ) {}

  /** The options in effect on a connection. */
  static optionsOf(conn: Connection): PortfolioPushOptions {
    return conn.portfolioPush?.options ?? DEFAULT_PORTFOLIO_PUSH;
  }

  /**
   * New options for a connection. Back to the defaults: a change still held back is sent now
   * (the topic's latest frame) and the connection leaves this class. Portfolios already held
   * start from the topic's latest valuation (what the connection was last sent); turning
   * positions on makes the next push of each list every position.
   */
  configure(conn: Connection, options: PortfolioPushOptions, topicOf: (portfolioId: number) => PortfolioTopic | undefined): void {
    const state = conn.portfolioPush;
    if (isDefault(options)) {
      if (!state) return;
      conn.portfolioPush = null;
      for (const e of state.portfolios.values()) {
        this.unwait(e);
        const frame = e.topic.frame;
        if (e.pending !== null && frame !== null && e.topic.valuation?.owner_id === conn.userId && conn.open) this.flow.deliver(conn, frame);
      }
      return;
    }
    if (!state) {
      const fresh: PortfolioPushState = { options, portfolios: new Map() };
      conn.portfolioPush = fresh;
      const now = Date.now();
      for (const id of conn.portfolios ?? []) {
        const topic = topicOf(id);
        if (!topic) continue;
        const e = this.entry(conn, topic);
        const v = topic.valuation;
        if (v) this.remember(e, v, now);
        fresh.portfolios.set(id, e);
      }
      return;
    }
    const before = state.options;
    state.options = options;
    for (const e of state.portfolios.values()) {
      if (options.positions && !before.positions) e.positions = null;
      if (!options.positions) e.positions = null;
      if (e.pending === null) continue;
      if (options.maxIntervalMs === 0 || options.minChangeBps === 0) this.unwait(e);
      else {
        e.due = e.at + options.maxIntervalMs;
        this.waiting.add(e);
        this.schedule(e.due);
      }
    }
  }

  /**
   * A new valuation of a portfolio this connection holds (owner already checked). Pushes it
   * (the shared frame when positions are off) or holds it back. True when pushed.
   */
  offer(conn: Connection, topic: PortfolioTopic, v: PortfolioValuation, seq: number, shared: OutboundFrame<'portfolio_update'>): boolean {
    const state = conn.portfolioPush!;
    let e = state.portfolios.get(topic.portfolioId);
    if (!e) {
      e = this.entry(conn, topic);
      state.portfolios.set(topic.portfolioId, e);
    }
    const o = state.options;
    const now = Date.now();
    if (e.total === null || this.crosses(e, v, o)) {
      this.push(e, v, seq, shared, now);
      return true;
    }
    if (v.total_value === e.total && v.daily_change === e.change) {
      // Back where the last push left it: nothing is held back.
      e.pending = null;
      this.unwait(e);
      return false;
    }
    e.pending = v;
    e.pendingSeq = seq;
    if (o.maxIntervalMs > 0) {
      const due = e.at + o.maxIntervalMs;
      if (now >= due) {
        this.push(e, v, seq, shared, now);
        return true;
      }
      e.due = due;
      this.waiting.add(e);
      this.schedule(due);
    }
    return false;
  }

  /** The snapshot after `subscribed`: always pushed, with every position; flagged `snapshot: true` when it answers a resume. */
  snapshot(
    conn: Connection,
    topic: PortfolioTopic,
    v: PortfolioValuation,
    seq: number,
    shared: OutboundFrame<'portfolio_update'> | null,
    resumed = false,
  ): void {
    const state = conn.portfolioPush!;
    const old = state.portfolios.get(topic.portfolioId);
    if (old) this.unwait(old);
    const e = this.entry(conn, topic);
    state.portfolios.set(topic.portfolioId, e);
    this.push(e, v, seq, shared, Date.now(), resumed);
  }

  /** The seq last pushed of a portfolio to this connection (0: none yet). */
  lastPushedSeq(conn: Connection, portfolioId: number): number {
    return conn.portfolioPush?.portfolios.get(portfolioId)?.seq ?? 0;
  }

  /** The connection left a portfolio. */
  forget(conn: Connection, portfolioId: number): void {
    const state = conn.portfolioPush;
    const e = state?.portfolios.get(portfolioId);
    if (!e) return;
    this.unwait(e);
    state!.portfolios.delete(portfolioId);
  }

  /** The connection is gone. */
  release(conn: Connection): void {
    const state = conn.portfolioPush;
    if (!state) return;
    for (const e of state.portfolios.values()) this.unwait(e);
    conn.portfolioPush = null;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.waiting.clear();
  }

  /** Held-back changes waiting for their maximum interval (stats and tests). */
  get waitingCount(): number {
    return this.waiting.size;
  }

  // ---------------------------------------------------------------- internals

  private entry(conn: Connection, topic: PortfolioTopic): PushedPortfolio {
    return {
      conn,
      topic,
      total: null,
      change: '',
      name: '',
      count: 0,
      stale: false,
      at: 0,
      seq: 0,
      pending: null,
      pendingSeq: 0,
      due: 0,
      positions: null,
    };
  }

  private remember(e: PushedPortfolio, v: PortfolioValuation, now: number): void {
    e.total = v.total_value;
    e.change = v.daily_change;
    e.name = v.name;
    e.count = v.positions_count;
    e.stale = v.stale;
    e.at = now;
  }

  /** Must this valuation be pushed at once? */
  private crosses(e: PushedPortfolio, v: PortfolioValuation, o: PortfolioPushOptions): boolean {
    if (o.minChangeBps === 0) return true;
    if (v.name !== e.name || v.positions_count !== e.count || v.stale !== e.stale) return true;
    if (v.total_value === e.total) return false;
    const last = dec(e.total);
    const moved = dec(v.total_value).minus(last).abs();
    // |new − last| / |last| ≥ bps / 10^4, exact in decimals (any move away from 0 counts).
    return moved.times(10_000).gte(last.abs().times(o.minChangeBps));
  }

  private push(e: PushedPortfolio, v: PortfolioValuation, seq: number, shared: OutboundFrame<'portfolio_update'> | null, now: number, resumed = false): void {
    const conn = e.conn;
    const o = conn.portfolioPush!.options;
    let frame: OutboundFrame<'portfolio_update'>;
    if (o.positions)
      frame = OutboundFrame.of('portfolio_update', resumed ? { ...this.withPositions(e, v, seq), snapshot: true } : this.withPositions(e, v, seq), e.topic.key);
    else frame = shared ?? OutboundFrame.of('portfolio_update', toPortfolioUpdate(v, seq), e.topic.key);
    this.remember(e, v, now);
    e.seq = seq;
    e.pending = null;
    this.unwait(e);
    this.flow.deliver(conn, frame);
  }

  /**
   * The update with its positions: every one when nothing was listed yet, when the set of
   * positions changed, or when the connection is conflated (a newer frame then replaces an
   * older one unsent, so each must stand alone); otherwise the ones whose quantity, price or
   * previous close changed since the last push.
   */
  private withPositions(e: PushedPortfolio, v: PortfolioValuation, seq: number): PortfolioUpdateData {
    const data = toPortfolioUpdate(v, seq);
    const all = this.positionsOf(v.portfolio_id) ?? [];
    const last = e.positions;
    let complete = last === null || last.size !== all.length || e.conn.conflated !== null;
    const next = new Map<string, string>();
    const changed: PositionValuation[] = [];
    for (const p of all) {
      const f = figures(p);
      next.set(p.symbol, f);
      if (complete) continue;
      const before = last!.get(p.symbol);
      if (before === undefined) complete = true;
      else if (before !== f) changed.push(p);
    }
    e.positions = next;
    data.positions = complete ? all : changed;
    data.positions_complete = complete;
    return data;
  }

  private unwait(e: PushedPortfolio): void {
    if (e.due === 0) return;
    e.due = 0;
    this.waiting.delete(e);
  }

  /** The one timer: set for the earliest due change (never sooner than MIN_CHECK_MS after the last check). */
  private schedule(due: number): void {
    if (this.timer !== null && this.timerAt <= due) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const at = Math.max(due, this.lastCheck + MIN_CHECK_MS);
    this.timerAt = at;
    this.timer = setTimeout(() => this.check(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    this.lastCheck = now;
    let next = Infinity;
    this.flow.beginBurst();
    try {
      for (const e of this.waiting) {
        if (!e.conn.open || e.pending === null || e.conn.portfolioPush === null) {
          e.due = 0;
          this.waiting.delete(e);
          continue;
        }
        if (e.due <= now) {
          const shared = e.topic.seq === e.pendingSeq ? e.topic.frame : null;
          this.push(e, e.pending, e.pendingSeq, shared, now);
        } else if (e.due < next) next = e.due;
      }
    } finally {
      this.flow.endBurst();
    }
    if (next !== Infinity) this.schedule(next);
  }
}
