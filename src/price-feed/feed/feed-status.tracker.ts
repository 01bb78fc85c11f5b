import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { AssetType } from '../../assets/entities/asset.entity';
import type { FeedQuietGroup, FeedQuietReason, FeedStatusMessage } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { ProviderRouter } from '../providers/provider-router.service';

interface QuietEntry {
  reason: FeedQuietReason;
  vendor: string | null;
  since: number;
}

/** What the tracker reads of a symbol's result in a batch (the pipeline's SymbolResult). */
export interface SymbolOutcome {
  symbol: string;
  status: string;
  /** A provider returned a quote (whatever the validator then made of it). */
  fetched: boolean;
}

/** Most symbols named in one log line. */
const LOG_SYMBOLS = 10;

/**
 * Which symbols the scheduled feed cannot price now, and why, for the `feed.status` bus message
 * (docs/bus.md, docs/price-feed.md "When vendors fail"). Run by the feed leader only:
 * PriceFeedScheduler starts it when it takes the lock and feeds it each run's results.
 *
 * A symbol is quiet
 * - `vendor_unavailable` as soon as every provider of its chain is a vendor whose circuit breaker
 *   is open (checked when a breaker opens, and at the end of every run). A breaker open on the first
 *   vendor while a fallback still prices the symbol is not an outage;
 * - `no_quotes` when no provider quoted it in FEED_STALE_CYCLES runs in a row (a vendor that answers
 *   without it, rate limits, a chain of vendors failing below their breaker threshold).
 * It is live again at the end of the first run that got a quote for it, its chain not down.
 *
 * Every change publishes the whole quiet set (`feed.status`); nothing is published for a run that
 * changed nothing. On a Redis bus the set is also published after the first FEED_STALE_CYCLES runs
 * of a new leader (a restarted feed corrects what API instances kept from its predecessor) and then
 * every FEED_STATUS_REPEAT_SECONDS, empty or not (one small message), so an API instance started
 * during an outage, or one that missed a change while Redis was away, learns the current set.
 */
@Injectable()
export class FeedStatusTracker implements OnModuleDestroy {
  private readonly logger = new Logger('FeedStatus');
  private readonly staleCycles: number;
  private readonly repeatMs: number;
  private origin = '';
  private active = false;
  /** Runs completed since start(). */
  private runs = 0;
  /** The set was published since start(). */
  private published = false;
  /** Symbol → asset type, of the assets of the current run. */
  private types = new Map<string, AssetType>();
  /** Runs in a row without a quote, per symbol (absent: quoted in the last run it was in). */
  private readonly streaks = new Map<string, number>();
  /** Symbols quoted in the current run. */
  private readonly quoted = new Set<string>();
  private quiet = new Map<string, QuietEntry>();
  private repeatTimer: NodeJS.Timeout | null = null;
  private offBreaker: (() => void) | null = null;

  constructor(
    config: AppConfig,
    private readonly router: ProviderRouter,
    private readonly bus: MessageBus,
  ) {
    this.staleCycles = config.FEED_STALE_CYCLES;
    this.repeatMs = config.FEED_STATUS_REPEAT_SECONDS * 1000;
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /** Symbols quiet now, with why (for logs and tests). */
  quietSymbols(): Map<string, Readonly<QuietEntry>> {
    return new Map(this.quiet);
  }

  /** This process leads the feed now: track from a clean state. */
  start(origin: string): void {
    this.stop();
    this.origin = origin;
    this.active = true;
    this.offBreaker = this.router.onBreakerChange((vendor, state) => {
      if (state === 'open') this.evaluate(`${vendor} circuit breaker opened`);
    });
    if (this.bus.kind === 'redis') {
      this.repeatTimer = setInterval(() => {
        if (this.runs >= this.staleCycles) this.publish();
      }, this.repeatMs);
      this.repeatTimer.unref();
    }
  }

  /** Leadership lost or the feed stops: forget everything (the next leader starts afresh), publish nothing more. */
  stop(): void {
    this.active = false;
    this.offBreaker?.();
    this.offBreaker = null;
    if (this.repeatTimer) clearInterval(this.repeatTimer);
    this.repeatTimer = null;
    this.runs = 0;
    this.published = false;
    this.types = new Map();
    this.streaks.clear();
    this.quoted.clear();
    this.quiet = new Map();
  }

  /** A run starts, over these assets (every asset of the catalog). */
  beginRun(assets: ReadonlyMap<string, { assetType: AssetType }>): void {
    if (!this.active) return;
    this.types = new Map([...assets].map(([s, a]) => [s, a.assetType]));
    this.quoted.clear();
    for (const s of this.streaks.keys()) if (!this.types.has(s)) this.streaks.delete(s);
  }

  /** One batch's results: a quote ends a symbol's streak, `unpriced` (no provider quoted it) adds a run to it. */
  record(results: readonly SymbolOutcome[]): void {
    if (!this.active) return;
    for (const r of results) {
      if (r.fetched) {
        this.quoted.add(r.symbol);
        this.streaks.delete(r.symbol);
      } else if (r.status === 'unpriced') {
        this.streaks.set(r.symbol, (this.streaks.get(r.symbol) ?? 0) + 1);
      }
    }
  }

  /** The run is over (complete or not): symbols quoted in it are live, the others checked; publishes a change. */
  endRun(): void {
    if (!this.active) return;
    this.runs++;
    const changed = this.evaluate(null);
    // A new leader says what it knows once it has seen FEED_STALE_CYCLES runs (see the class comment).
    if (!changed && !this.published && this.bus.kind === 'redis' && this.runs >= this.staleCycles) this.publish();
  }

  /**
   * Recomputes the quiet set; publishes and logs it when it changed. `cause` set: a breaker opened
   * (mid-run): symbols only go quiet then, they come back at the end of a run (cause null).
   */
  private evaluate(cause: string | null): boolean {
    if (!this.active) return false;
    const now = Date.now();
    const next = new Map<string, QuietEntry>();
    const down = new Map<AssetType, string | null>();
    for (const [symbol, type] of this.types) {
      if (!down.has(type)) down.set(type, this.router.unavailableVendor(type));
      const vendor = down.get(type)!;
      const cur = this.quiet.get(symbol);
      let target: Omit<QuietEntry, 'since'> | undefined;
      if (vendor !== null) target = { reason: 'vendor_unavailable', vendor };
      else if (cause === null && this.quoted.has(symbol)) target = undefined;
      else if ((this.streaks.get(symbol) ?? 0) >= this.staleCycles) target = { reason: 'no_quotes', vendor: null };
      else target = cur;
      if (!target) continue;
      next.set(symbol, cur && cur.reason === target.reason && cur.vendor === target.vendor ? cur : { ...target, since: now });
    }
    const before = this.quiet;
    let changed = before.size !== next.size;
    if (!changed) for (const [s, e] of next) if (before.get(s) !== e) changed = true;
    if (!changed) return false;
    this.quiet = next;
    this.logChange(before, next, cause);
    this.publish();
    return true;
  }

  private logChange(before: Map<string, QuietEntry>, next: Map<string, QuietEntry>, cause: string | null): void {
    const list = (xs: string[]) => `${xs.slice(0, LOG_SYMBOLS).join(', ')}${xs.length > LOG_SYMBOLS ? ` and ${xs.length - LOG_SYMBOLS} more` : ''}`;
    const parts: string[] = [];
    const byWhy = new Map<string, string[]>();
    for (const [s, e] of next) {
      if (before.get(s) === e) continue;
      const why = e.reason === 'vendor_unavailable' ? `vendor_unavailable (${e.vendor})` : e.reason;
      byWhy.set(why, [...(byWhy.get(why) ?? []), s]);
    }
    for (const [why, xs] of byWhy) parts.push(`${xs.length} quiet, ${why}: ${list(xs)}`);
    const live = [...before.keys()].filter((s) => !next.has(s));
    if (live.length) parts.push(`${live.length} live again: ${list(live)}`);
    const line = `${parts.join('; ')} (${next.size} quiet now${cause ? `; ${cause}` : ''})`;
    if (byWhy.size > 0) this.logger.warn(line);
    else this.logger.log(line);
  }

  /** Publishes the whole quiet set (grouped by reason, vendor and time). */
  private publish(): void {
    if (!this.active) return;
    const groups = new Map<string, FeedQuietGroup>();
    for (const [symbol, e] of this.quiet) {
      const key = `${e.reason}|${e.vendor ?? ''}|${e.since}`;
      const g = groups.get(key);
      if (g) g.symbols.push(symbol);
      else groups.set(key, { symbols: [symbol], reason: e.reason, vendor: e.vendor, since: e.since });
    }
    const message: FeedStatusMessage = { quiet: [...groups.values()], at: Date.now(), origin: this.origin };
    this.published = true;
    this.bus.publish('feed.status', message).catch((err: unknown) => this.logger.warn(`Could not publish the feed status: ${(err as Error).message}`));
  }
}
