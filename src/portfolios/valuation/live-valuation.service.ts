import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AssetPricesRepository } from '../../assets/asset-prices.repository';
import type { BusMessages } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { PortfolioHoldingsRepository } from './portfolio-holdings.repository';
import { ReadPortfolio, ValuationEngine, ValuationListener } from './valuation-engine';
import { staleAfterMs } from '../../common/staleness';
import { PortfolioValuation, PortfolioValuationSource, PositionValuation } from './valuation.types';

/** Longest wait at shutdown for portfolio reloads still reading (they must not be cut by the pool closing). */
const SHUTDOWN_WAIT_MS = 5_000;

/**
 * The live portfolio valuation, as the app runs it: a thin shell around
 * ValuationEngine (valuation-engine.ts: the typed-array state and all the
 * arithmetic). It
 *
 * - loads the engine once at start-up (onApplicationBootstrap) from the
 *   repositories (asset prices, portfolios with their positions);
 * - feeds it from the bus: 'prices.committed' batches, and 'portfolio.changed'
 *   (a reload of that one portfolio with one query, or its removal). Messages
 *   that arrive before the load are held and applied after it, in order;
 * - serves snapshots (a portfolio created since the load is read on demand);
 * - at shutdown stops listening and waits (at most 5 s) for reloads still
 *   reading, so no query is cut when the pool closes.
 *
 * Listeners and the interest filter are the engine's (onChange, setInterest).
 */
@Injectable()
export class LiveValuationService extends PortfolioValuationSource implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Valuation');
  private readonly engine: ValuationEngine;
  private readonly unsubscribe: (() => void)[] = [];
  /** Portfolio reloads under way: shutdown waits for them, so no query is cut when the pool closes. */
  private readonly reloads = new Set<Promise<void>>();
  /** Bus messages that arrived before the index was loaded. */
  private backlog: (() => void)[] | null = [];
  private loading?: Promise<void>;
  /** One portfolio's rows, for the engine's reloads. */
  private readonly readPortfolio: ReadPortfolio = (id) => this.holdings.portfolio(id);

  constructor(
    private readonly assetPrices: AssetPricesRepository,
    private readonly holdings: PortfolioHoldingsRepository,
    private readonly bus: MessageBus,
    config: AppConfig,
  ) {
    super();
    this.engine = new ValuationEngine({ staleMs: staleAfterMs(config.REALTIME_UPDATE_INTERVAL), log: this.logger });
  }

  onModuleInit(): void {
    // Subscribe before loading so nothing committed during the load is missed.
    this.unsubscribe.push(
      this.bus.subscribe('prices.committed', (m) => this.whenLoaded(() => void this.engine.applyPrices(m.ticks))),
      this.bus.subscribe('portfolio.changed', (m) =>
        this.whenLoaded(() => {
          const p = this.onPortfolioChanged(m);
          this.reloads.add(p);
          void p.finally(() => this.reloads.delete(p));
        }),
      ),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.load();
  }

  /** Runs before the database pool closes (onApplicationShutdown): stops listening, lets reloads finish (at most 5 s). */
  async onModuleDestroy(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.engine.clearListeners();
    if (this.reloads.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.reloads]), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
  }

  // ---------------------------------------------------------------- public API

  async snapshot(portfolioId: number): Promise<PortfolioValuation | null> {
    if (!Number.isSafeInteger(portfolioId) || portfolioId <= 0) return null;
    await this.load();
    // Created after the load and its 'portfolio.changed' not processed yet: read it now.
    return this.engine.valuation(portfolioId) ?? this.engine.reload(portfolioId, false, this.readPortfolio);
  }

  override setInterest(isWatched: ((portfolioId: number) => boolean) | null): void {
    this.engine.setInterest(isWatched);
  }

  override positions(portfolioId: number): PositionValuation[] | null {
    return this.engine.positions(portfolioId);
  }

  onChange(listener: ValuationListener): () => void {
    return this.engine.onChange(listener);
  }

  /** The current valuation of every portfolio in memory (read-only; the intraday recorder samples them). */
  valuations(now = Date.now()): PortfolioValuation[] {
    const out: PortfolioValuation[] = [];
    for (const id of this.engine.portfolioIds()) {
      const v = this.engine.valuation(id, now);
      if (v) out.push(v);
    }
    return out;
  }

  /** Number of portfolios and positions in memory (status and tests). */
  stats(): { portfolios: number; positions: number; symbols: number } {
    return this.engine.stats();
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
    const assets = await this.assetPrices.allPrices();
    const rows = await this.holdings.all();
    this.engine.load(assets, rows);
    const backlog = this.backlog ?? [];
    this.backlog = null;
    for (const fn of backlog) fn();
    const s = this.engine.stats();
    this.logger.log(`Loaded ${s.portfolios} portfolios, ${s.positions} positions, ${s.symbols} symbols in ${Date.now() - started} ms`);
  }

  private whenLoaded(fn: () => void): void {
    if (this.backlog) this.backlog.push(fn);
    else fn();
  }

  // -------------------------------------------------------- portfolio edits

  /**
   * Never rejects: its promise is only tracked (onModuleInit), so a rejection would be unhandled.
   * The Redis bus delivers only checked messages; a malformed one (another bus) is ignored here too.
   */
  private async onPortfolioChanged(m: BusMessages['portfolio.changed']): Promise<void> {
    let id: unknown;
    try {
      id = (m as { portfolio_id?: unknown } | null | undefined)?.portfolio_id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return;
      if (m.deleted) {
        this.engine.remove(id);
        return;
      }
      await this.engine.reload(id, true, this.readPortfolio);
    } catch (err) {
      try {
        this.logger.error(`Reloading portfolio ${typeof id === 'number' ? id : '?'} failed: ${err instanceof Error ? err.message : String(err)}`);
      } catch {
        // Nothing to report with: the error path itself must not throw.
      }
    }
  }
}
