import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { MarketClock } from '../../assets/market-clock';
import type { Market, MarketState } from '../../assets/market-hours';
import { RealtimeHub } from './realtime-hub.service';

/** Markets with hours (crypto never closes). */
const WATCHED: readonly Market[] = ['us_equities', 'fx'];
/** Longest wait between two checks (timers drift; the wall clock may be set). */
const MAX_WAIT_MS = 3_600_000;

/**
 * Sends `status` messages when a market closes (`quiet`) or reopens (`live`) to the
 * connections subscribed to its symbols. One timer, set for the next change of any
 * market (at most an hour ahead); a pinned MarketClock is checked at once.
 */
@Injectable()
export class MarketStatusWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MarketStatus');
  private readonly last = new Map<Market, MarketState>();
  private timer: NodeJS.Timeout | null = null;
  private unpin: (() => void) | null = null;

  constructor(
    private readonly hub: RealtimeHub,
    private readonly clock: MarketClock,
  ) {}

  onApplicationBootstrap(): void {
    this.unpin = this.clock.onPin(() => this.check());
    this.check();
  }

  onModuleDestroy(): void {
    this.unpin?.();
    this.unpin = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Compares each market's state with the last one seen, announces the closings and reopenings, and sets the timer. */
  check(): void {
    const now = this.clock.now();
    let next = Infinity;
    for (const market of WATCHED) {
      const session = this.hub.marketSession(market, now);
      const before = this.last.get(market);
      this.last.set(market, session.state);
      if (session.nextChange !== null) next = Math.min(next, session.nextChange);
      if (before === undefined || (before === 'closed') === (session.state === 'closed')) continue;
      const state = session.state === 'closed' ? 'quiet' : 'live';
      const told = this.hub.announceMarket(session, state);
      if (told > 0) this.logger.log(`${market} is ${session.state}: status (${state}) sent to ${told} connection(s)`);
    }
    if (this.timer) clearTimeout(this.timer);
    // A few ms past the change, so the state read then is the new one.
    this.timer = setTimeout(() => this.check(), Math.max(10, Math.min(next - now + 10, MAX_WAIT_MS)));
    this.timer.unref();
  }
}
