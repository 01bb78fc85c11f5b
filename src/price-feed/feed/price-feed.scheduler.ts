import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { CronTime } from 'cron';
import { AppConfig } from '../../config/app-config';
import { feedMetrics } from '../metrics';
import { PricePipeline } from '../pipeline/price-pipeline.service';
import { HistoryService } from '../pipeline/history.service';
import { SimulatedProvider } from '../providers/simulated.provider';
import { FeedLeaderLock } from './feed-leader.lock';
import { FeedStatusTracker } from './feed-status.tracker';
import { describeSchedule, FEED_CRON_TIME_ZONE, FeedSchedule, feedSchedule, longestGapMs } from './feed-schedule';
import { PriceFeedStatus } from './price-feed-status.service';
import { quoteStaleAfterMs } from '../../common/staleness';

/** Provided (value `{ standalone: true }`) by the separate feed process: run the feed whatever PRICE_FEED_MODE says. */
export const FEED_RUN_OPTIONS = Symbol('FEED_RUN_OPTIONS');
export interface FeedRunOptions {
  standalone: boolean;
}

/** The batch cycle: a @Cron job of this name (its time set at start-up from PRICE_FEED_CRON / REALTIME_UPDATE_INTERVAL). */
export const FEED_BATCH_JOB_NAME = 'price-feed-batch';
/** The fixed-rate timer (a SchedulerRegistry interval) that replaces the batch job for intervals no cron expression states. */
export const FEED_INTERVAL_NAME = 'price-feed';
export const FEED_DAILY_JOB_NAME = 'price-feed-daily';

/**
 * The scheduled feed. Runs when PRICE_FEED_MODE=inprocess (inside the API) or
 * in the separate price-feed process; 'external' and 'off' leave it idle.
 *
 * The batch cycle is the @Cron job `price-feed-batch` (declared disabled; at
 * start-up its time is set to PRICE_FEED_CRON, or to the expression derived
 * from REALTIME_UPDATE_INTERVAL, and it is started). An interval no cron
 * expression states (sub-second, fractional, not dividing a minute, an hour
 * or a day) runs on a fixed-rate timer instead, registered as the interval
 * `price-feed` (said once at start-up). Each tick prices every asset in
 * batches of REALTIME_BATCH_SIZE through the pipeline, provided this process
 * holds the feed lock; the first run starts as soon as it does. Runs never
 * overlap: a tick that finds the previous run still going is skipped, counted,
 * and logged once per streak. A nightly job (00:00 UTC) rolls the simulated
 * market over, turns yesterday's ticks into daily bars, backfills daily
 * history and prunes old ticks.
 *
 * Leadership changes also make the pipeline forget the known prices it keeps
 * in memory (another feed may have written meanwhile).
 */
@Injectable()
export class PriceFeedScheduler implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('PriceFeed');
  readonly enabled: boolean;
  private current?: Promise<void>;
  private currentStartedAt = 0;
  /** Ticks skipped while the current run goes on (one warning at the first, one summary at the end). */
  private skippedInStreak = 0;
  private backfilling?: Promise<void>;
  private stopping = false;
  private readonly abort = new AbortController();
  private unsubscribeLock?: () => void;
  private unsubscribeKnown?: () => void;
  /** When the batch cycle runs (fixed at construction from the validated settings). */
  readonly schedule: FeedSchedule;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly lock: FeedLeaderLock,
    private readonly pipeline: PricePipeline,
    private readonly history: HistoryService,
    private readonly simulated: SimulatedProvider,
    private readonly status: PriceFeedStatus,
    private readonly feedStatus: FeedStatusTracker,
    @Optional() @Inject(FEED_RUN_OPTIONS) runOptions?: FeedRunOptions,
  ) {
    this.enabled = !!runOptions?.standalone || config.PRICE_FEED_MODE === 'inprocess';
    if (runOptions?.standalone) status.mode = 'standalone';
    this.schedule = feedSchedule(config);
  }

  onModuleInit(): void {
    // Whoever takes or loses the lock, the known prices the pipeline keeps in memory are read from the database again.
    this.unsubscribeKnown = this.lock.onChange(() => this.pipeline.forgetKnown());
  }

  onModuleDestroy(): void {
    this.unsubscribeKnown?.();
  }

  get intervalMs(): number {
    return Math.round(this.config.REALTIME_UPDATE_INTERVAL * 1000);
  }

  /** True while a run is in progress. */
  get busy(): boolean {
    return !!this.current;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) {
      this.logger.log(`Price feed not running in this process (PRICE_FEED_MODE=${this.config.PRICE_FEED_MODE})`);
      return;
    }
    this.status.role = 'standby';
    this.unsubscribeLock = this.lock.onChange((held) => {
      this.status.role = held ? 'leader' : this.stopping ? 'stopped' : 'standby';
      // Which symbols cannot be priced (feed.status): tracked by the leader only, from scratch on each new leadership.
      if (held && !this.stopping) this.feedStatus.start(`feed:${this.pipeline.defaultOrigin}`);
      else this.feedStatus.stop();
      if (held && !this.stopping) {
        this.tick();
        this.startBackfill();
      }
    });
    this.lock.start(Math.min(Math.max(this.intervalMs, 200), 2000));
    const s = this.schedule;
    if (s.kind === 'cron') {
      // The @Cron declaration below names the job; its time comes from the settings (docs/architecture-feed.md, "dynamic cron time").
      const job = this.registry.getCronJob(FEED_BATCH_JOB_NAME);
      job.setTime(new CronTime(s.expression, FEED_CRON_TIME_ZONE));
      job.start();
      if (s.from === 'PRICE_FEED_CRON') this.warnIfStale(s.expression);
    } else {
      this.registry.addInterval(
        FEED_INTERVAL_NAME,
        setInterval(() => this.tick(), s.everyMs),
      );
      this.logger.log(
        `REALTIME_UPDATE_INTERVAL=${this.config.REALTIME_UPDATE_INTERVAL} s has no cron expression (${s.reason}): ` +
          `the batch cycle runs on a fixed-rate timer (interval "${FEED_INTERVAL_NAME}") instead of the cron job "${FEED_BATCH_JOB_NAME}"`,
      );
    }
    this.logger.log(`Price feed started: ${describeSchedule(s)}, batches of ${this.config.REALTIME_BATCH_SIZE}`);
  }

  /** Prices turn stale after 3 × REALTIME_UPDATE_INTERVAL: a PRICE_FEED_CRON that leaves longer gaps gets one warning. */
  private warnIfStale(expression: string): void {
    const staleMs = quoteStaleAfterMs(this.config.REALTIME_UPDATE_INTERVAL);
    const gapMs = longestGapMs(expression);
    if (gapMs > staleMs) {
      this.logger.warn(
        `PRICE_FEED_CRON "${expression}" leaves up to ${Math.round(gapMs / 1000)} s between runs, but prices count as stale after ${Math.round(staleMs / 1000)} s ` +
          `(3 × REALTIME_UPDATE_INTERVAL): set REALTIME_UPDATE_INTERVAL to about the gap between runs`,
      );
    }
  }

  /** Before any pool or the embedded server closes: finish the current batch and release the lock first. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Stops scheduling, lets the current batch finish, releases the lock. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.enabled || this.stopping) return this.current;
    this.stopping = true;
    // Stopped, not deleted: the job stays declared (ScheduleModule deletes every job at shutdown).
    if (this.registry.doesExist('cron', FEED_BATCH_JOB_NAME)) void this.registry.getCronJob(FEED_BATCH_JOB_NAME).stop();
    if (this.registry.doesExist('interval', FEED_INTERVAL_NAME)) this.registry.deleteInterval(FEED_INTERVAL_NAME);
    if (this.current) this.logger.log('Finishing the current batch before stopping');
    await this.current;
    this.feedStatus.stop();
    this.abort.abort();
    await this.backfilling;
    await this.lock.stop();
    this.unsubscribeLock?.();
    this.status.role = 'stopped';
    this.logger.log('Price feed stopped');
  }

  /**
   * One tick of the batch cycle (the cron job's handler; also called when the lock is taken):
   * starts a run unless one is still going. A skipped tick is counted every time and logged once
   * per streak (at its first skip; a summary when the run ends if more followed).
   */
  @Cron(CronExpression.EVERY_30_SECONDS, { name: FEED_BATCH_JOB_NAME, timeZone: FEED_CRON_TIME_ZONE, disabled: true })
  tick(): void {
    if (this.stopping || !this.lock.isHeld) return;
    if (this.current) {
      this.status.skippedRuns++;
      feedMetrics.runsSkipped.inc();
      if (this.skippedInStreak++ === 0) {
        this.logger.warn(
          `Previous run still in progress after ${Math.round(performance.now() - this.currentStartedAt)} ms: skipping this interval ` +
            `(further skips while it runs are counted in price_feed_runs_skipped_total, not logged)`,
        );
      }
      return;
    }
    this.currentStartedAt = performance.now();
    this.current = this.runOnce()
      .catch((err: unknown) => {
        this.status.lastError = (err as Error).message;
        this.logger.error(`Run failed: ${(err as Error).message}`);
      })
      .finally(() => {
        if (this.skippedInStreak > 1) {
          this.logger.warn(`The run took ${Math.round(performance.now() - this.currentStartedAt)} ms: ${this.skippedInStreak} intervals skipped meanwhile`);
        }
        this.skippedInStreak = 0;
        this.current = undefined;
      });
  }

  /** Prices every asset once, batch by batch (stops early when stopping or when the lock is lost). */
  async runOnce(): Promise<void> {
    const started = performance.now();
    const assets = await this.pipeline.loadAssets();
    const symbols = [...assets.keys()];
    this.feedStatus.beginRun(assets);
    const size = this.config.REALTIME_BATCH_SIZE;
    let updated = 0;
    let batches = 0;
    for (let i = 0; i < symbols.length; i += size) {
      if (this.stopping || !this.lock.isHeld) break;
      const report = await this.pipeline.runBatch(symbols.slice(i, i + size), {
        origin: `feed:${this.pipeline.defaultOrigin}`,
        fence: this.lock.fence,
        carryOnFailure: true,
        signal: this.abort.signal,
      });
      batches++;
      this.feedStatus.record(report.results);
      updated += report.committed.length;
      const rejected = report.results.filter((r) => r.status === 'rejected').length;
      const unpriced = report.results.filter((r) => r.status === 'unpriced').length;
      this.status.rejectedQuotes += rejected;
      this.status.carriedQuotes = this.pipeline.carriedCount;
      this.logger.verbose(
        `Batch ${batches}: ${report.committed.length} updated, ${rejected} rejected, ${unpriced} unpriced, ${report.historyRows} history rows in ${report.durationMs.toFixed(0)} ms`,
      );
      if (report.error) {
        this.status.failedBatches++;
        this.status.lastError = report.error;
        break; // database trouble or lost lock: the next run carries on
      }
    }
    this.feedStatus.endRun();
    const ms = performance.now() - started;
    this.status.runs++;
    this.status.lastRunAt = new Date();
    this.status.lastRunMs = Math.round(ms);
    this.logger.debug(`Run: ${updated} of ${symbols.length} symbols updated in ${batches} batch(es), ${ms.toFixed(0)} ms`);
    await this.status.beat();
  }

  /** Nightly: roll the simulated day over, build yesterday's daily bars, backfill, prune old ticks. */
  @Cron('0 0 * * *', { name: FEED_DAILY_JOB_NAME, timeZone: 'UTC' })
  async daily(): Promise<void> {
    if (!this.enabled || this.stopping || !this.lock.isHeld) return;
    const rolled = this.simulated.rollover();
    try {
      const bars = await this.history.aggregateDailyFromTicks(new Date());
      const pruned = await this.history.pruneTicks(this.config.PRICE_TICK_RETENTION_DAYS);
      this.logger.log(`Day roll-over: ${rolled} simulated symbols, ${bars} daily bars from ticks, ${pruned} old ticks pruned`);
    } catch (err) {
      this.logger.error(`Day roll-over failed: ${(err as Error).message}`);
    }
    this.startBackfill();
  }

  private startBackfill(): void {
    const days = this.config.PRICE_BACKFILL_DAYS;
    if (days <= 0 || this.backfilling) return;
    this.backfilling = this.history
      .backfillMissing(days, { signal: this.abort.signal, shouldStop: () => this.stopping || !this.lock.isHeld })
      .then((n) => {
        if (n > 0) this.logger.log(`Backfilled ${days} days of daily history for ${n} asset(s)`);
      })
      .catch((err: unknown) => this.logger.warn(`Backfill failed: ${(err as Error).message}`))
      .finally(() => {
        this.backfilling = undefined;
      });
  }
}
