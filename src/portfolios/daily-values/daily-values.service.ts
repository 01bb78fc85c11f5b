import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Portfolio } from '../entities/portfolio.entity';
import { dateOf, dayNumber, utcToday } from '../ledger/ledger.format';
import { PortfolioPerformanceService } from '../performance/portfolio-performance.service';
import { DailyValuesStore } from './daily-values.store';

/** The job recomputes this many days before the last stored one: closes the feed stored late are taken in. */
export const RECOMPUTE_DAYS = 7;
/** Portfolios read per query by the job. */
const PAGE = 500;

/**
 * Keeps the stored value history (portfolio_daily_values) current:
 *
 * - every day at 00:05 UTC (runDaily, run by DailyValuesJob in the API process) it computes, for every portfolio,
 *   the days since its last stored one (the last RECOMPUTE_DAYS again, for late closes; from its
 *   first transaction when none is stored) up to yesterday, and stores them;
 * - after a change of a portfolio's transactions (PortfolioLedgerService) or of its base currency
 *   (PortfoliosService), which forget the stored days from the earliest one they affect, it
 *   backfills them at once, off the request (changes of one portfolio run one after the other).
 *
 * Of several API instances only one runs the daily job (DailyValuesJob's advisory lock); a history
 * read or a backfill on any instance stores the same figures (the store replaces). A failure is
 * logged; the next read of the history computes what is missing, and stores it.
 */
@Injectable()
export class DailyValuesService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DailyValues');
  /** Backfills under way, by portfolio (a change waits for the previous one of the same portfolio). */
  private readonly running = new Map<number, Promise<void>>();
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly store: DailyValuesStore,
    private readonly performance: PortfolioPerformanceService,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  /** Forgets the stored days of a portfolio from `from` (all of them when null), inside the change's database transaction. */
  forget(em: EntityManager, portfolioId: number, from: string | null): Promise<void> {
    return this.store.forget(portfolioId, from, em);
  }

  /** After a committed change: stores the days from `from` (the first transaction's when null) again, off the request. */
  backfill(portfolio: Portfolio, from: string | null): void {
    if (this.stopping) return;
    const previous = this.running.get(portfolio.id) ?? Promise.resolve();
    const run = previous
      .then(() => this.performance.storePastDays(portfolio, from))
      .then(
        () => undefined,
        (err: Error) => this.logger.warn(`Could not backfill the daily values of portfolio ${portfolio.id}: ${err.message}`),
      );
    this.running.set(portfolio.id, run);
    void run.finally(() => {
      if (this.running.get(portfolio.id) === run) this.running.delete(portfolio.id);
    });
  }

  /** Resolves when no backfill is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** The daily job (also callable directly): returns how many portfolios it brought up to yesterday. */
  async runDaily(): Promise<{ portfolios: number; days: number; failed: number }> {
    const started = Date.now();
    const last = await this.store.lastDays();
    const yesterday = dateOf(dayNumber(utcToday())! - 1);
    let portfolios = 0;
    let days = 0;
    let failed = 0;
    for (let after = 0; !this.stopping;) {
      const page = (await this.db.query(
        `SELECT id, owner_id AS "ownerId", base_currency AS "baseCurrency" FROM portfolios WHERE id > $1 ORDER BY id LIMIT ${PAGE}`,
        [after],
      )) as Pick<Portfolio, 'id' | 'ownerId' | 'baseCurrency'>[];
      if (page.length === 0) break;
      for (const p of page) {
        if (this.stopping) break;
        const stored = last.get(p.id);
        if (stored === yesterday) continue;
        const from = stored === undefined ? null : dateOf(dayNumber(stored)! - RECOMPUTE_DAYS);
        try {
          days += await this.performance.storePastDays(p as Portfolio, from);
          portfolios++;
        } catch (err) {
          failed++;
          if (failed <= 3) this.logger.warn(`Daily values of portfolio ${p.id} not stored: ${(err as Error).message}`);
        }
      }
      after = page[page.length - 1].id;
    }
    this.logger.log(
      `Daily values: ${portfolios} portfolios brought up to ${yesterday} (${days} days) in ${Date.now() - started} ms${failed ? `, ${failed} failed` : ''}`,
    );
    return { portfolios, days, failed };
  }
}
