import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { AppConfig } from '../../config/app-config';
import { isDbUnavailableError, OutageLog } from '../../database/db-errors';
import { cronForInterval } from '../../price-feed/feed/feed-schedule';
import { LiveValuationService } from '../valuation/live-valuation.service';
import { intervalStart, planIntradayPoints } from './intraday-points';
import { IntradaySeriesService } from './intraday-series.service';

/** The recording job: a cron job of this name (a SchedulerRegistry interval when no cron expression states the interval). */
export const INTRADAY_JOB_NAME = 'portfolio-intraday';
/** Old points are pruned at most this often (on a recording tick). */
export const INTRADAY_PRUNE_EVERY_MS = 60 * 60 * 1000;

/** What one recording tick did (tests and logs). */
export type RecordOutcome =
  | { kind: 'recorded'; at: Date; points: number; inserted: number }
  | { kind: 'unchanged'; at: Date }
  | { kind: 'same-interval' }
  | { kind: 'failed'; error: string };

/**
 * Records the intraday value series from the live valuation. Every PORTFOLIO_INTRADAY_INTERVAL
 * (a minute by default: the cron job `portfolio-intraday`, `0 * * * * *` in UTC; an interval no
 * cron expression states runs on a fixed-rate timer registered under the same name, as the
 * price feed does) it values every portfolio this instance holds (LiveValuationService, in
 * memory) and writes, in one statement, a point for each one whose total value moved since its
 * last recorded point (planIntradayPoints). Several API instances each record: the table's key
 * keeps one point per portfolio and interval.
 *
 * The realtime path never waits on it: it runs on its own timer, reads the engine synchronously
 * and writes off the fan-out path. A failed write is logged (database outages once per outage,
 * see OutageLog) and planned again at the next interval (the values then); a tick that finds the
 * previous write still running is skipped. Points older than PORTFOLIO_INTRADAY_DAYS are pruned
 * at most hourly, on a tick.
 */
@Injectable()
export class IntradayRecorderService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('IntradaySeries');
  private readonly outage = new OutageLog(this.logger);
  readonly intervalMs: number;
  /** The last recorded value of each portfolio (stored form). */
  private last = new Map<number, string>();
  /** The last interval recorded (ms epoch): a tick in the same interval records nothing. */
  private lastInterval = -Infinity;
  private lastPruneAt = -Infinity;
  /** Portfolios already reported as too large to record (one warning each). */
  private readonly warnedTooLarge = new Set<number>();
  private current?: Promise<RecordOutcome>;
  private stopping = false;
  /** Running counts: ticks completed, points written, failed writes, ticks skipped (previous write still running), rows pruned. */
  readonly stats = { ticks: 0, points: 0, failures: 0, skipped: 0, pruned: 0 };

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly valuations: LiveValuationService,
    private readonly series: IntradaySeriesService,
  ) {
    this.intervalMs = config.intradayIntervalMs;
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.PORTFOLIO_INTRADAY_INTERVAL;
    const expression = cronForInterval(seconds);
    let how: string;
    if (expression) {
      const job = new CronJob(expression, () => this.tick(), null, false, 'UTC');
      this.registry.addCronJob(INTRADAY_JOB_NAME, job);
      job.start();
      how = `cron "${expression}" (UTC)`;
    } else {
      this.registry.addInterval(
        INTRADAY_JOB_NAME,
        setInterval(() => this.tick(), this.intervalMs),
      );
      how = `every ${this.intervalMs} ms (fixed-rate timer)`;
    }
    this.logger.log(
      `Intraday value series: a point per ${seconds} s while a portfolio's value moves, ${how}, kept ${this.config.PORTFOLIO_INTRADAY_DAYS} days`,
    );
  }

  /** Before the pool closes: no new tick, and the write under way finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.registry.doesExist('cron', INTRADAY_JOB_NAME)) this.registry.deleteCronJob(INTRADAY_JOB_NAME);
    if (this.registry.doesExist('interval', INTRADAY_JOB_NAME)) this.registry.deleteInterval(INTRADAY_JOB_NAME);
    await this.current;
  }

  /** One tick of the job: records unless the previous tick's write is still running. */
  tick(): void {
    if (this.stopping) return;
    if (this.current) {
      this.stats.skipped++;
      return;
    }
    this.current = this.recordOnce().finally(() => {
      this.current = undefined;
    });
  }

  /** Records the interval `now` belongs to (once per interval), then prunes when due. Never rejects. */
  async recordOnce(now = Date.now()): Promise<RecordOutcome> {
    try {
      return await this.record(now);
    } catch (err) {
      this.stats.failures++;
      this.logger.error(`Recording the intraday series failed: ${String((err as Error)?.stack ?? err)}`);
      return { kind: 'failed', error: (err as Error)?.message ?? String(err) };
    }
  }

  private async record(now: number): Promise<RecordOutcome> {
    const start = intervalStart(now, this.intervalMs);
    if (start <= this.lastInterval) return { kind: 'same-interval' };
    const at = new Date(start);
    const plan = planIntradayPoints(this.valuations.valuations(now), this.last);
    for (const id of plan.tooLarge) {
      if (this.warnedTooLarge.has(id)) continue;
      this.warnedTooLarge.add(id);
      this.logger.warn(`Portfolio ${id}: total value too large for the intraday series (numeric(24,8)); not recorded`);
    }
    let inserted = 0;
    if (plan.points.length > 0) {
      try {
        inserted = await this.series.record(at, plan.points);
        this.outage.recovered('Recording the intraday series');
      } catch (err) {
        this.stats.failures++;
        if (isDbUnavailableError(err)) this.outage.failed('Recording the intraday series (retried at the next interval)', err);
        else this.logger.error(`Recording the intraday series failed (retried at the next interval): ${(err as Error)?.message ?? String(err)}`);
        return { kind: 'failed', error: (err as Error)?.message ?? String(err) };
      }
    }
    this.last = plan.next;
    this.lastInterval = start;
    this.stats.ticks++;
    this.stats.points += plan.points.length;
    if (now - this.lastPruneAt >= INTRADAY_PRUNE_EVERY_MS) await this.pruneNow(now);
    return plan.points.length > 0 ? { kind: 'recorded', at, points: plan.points.length, inserted } : { kind: 'unchanged', at };
  }

  /** Deletes the points older than PORTFOLIO_INTRADAY_DAYS now; returns how many (0 when it failed: logged, tried again at the next tick). */
  async prune(): Promise<number> {
    return this.pruneNow(Date.now());
  }

  private async pruneNow(now: number): Promise<number> {
    try {
      const n = await this.series.prune(this.config.PORTFOLIO_INTRADAY_DAYS);
      this.lastPruneAt = now;
      this.stats.pruned += n;
      if (n > 0) this.logger.log(`Pruned ${n} intraday points older than ${this.config.PORTFOLIO_INTRADAY_DAYS} days`);
      return n;
    } catch (err) {
      if (isDbUnavailableError(err)) this.outage.failed('Pruning the intraday series', err);
      else this.logger.error(`Pruning the intraday series failed: ${(err as Error)?.message ?? String(err)}`);
      return 0;
    }
  }
}
