import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { CronJob } from 'cron';
import { DataSource } from 'typeorm';
import { PortfoliosModule } from '../portfolios.module';
import { DailyValuesService } from './daily-values.service';

/** The daily job: a cron job of this name, every day at 00:05 UTC. */
export const DAILY_VALUES_JOB = 'portfolio-daily-values';
export const DAILY_VALUES_CRON = '0 5 0 * * *';
/** Advisory lock of the daily run (two int4 keys: namespace "RMPF", lock 2; the feed's leader lock is 1). */
export const DAILY_VALUES_LOCK = [0x524d5046, 2] as const;

/** What one daily run did (DailyValuesService.runDaily). */
type DailyRun = Awaited<ReturnType<DailyValuesService['runDaily']>>;

/**
 * Runs DailyValuesService.runDaily every day at 00:05 UTC (cron job `portfolio-daily-values`), in
 * the API process only (the CLI has no scheduler). A run still going when the next one is due is
 * not doubled, and of several API instances on one database only one runs it: the run holds a
 * PostgreSQL advisory lock (DAILY_VALUES_LOCK) on its own connection, and an instance that cannot
 * take it at once leaves the day to the one that holds it. The lock goes with the connection, so a
 * run that dies frees it.
 */
@Injectable()
export class DailyValuesJob implements OnApplicationBootstrap {
  private readonly logger = new Logger('DailyValues');
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly dailyValues: DailyValuesService,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    const job = new CronJob(DAILY_VALUES_CRON, () => void this.run(), null, false, 'UTC');
    this.registry.addCronJob(DAILY_VALUES_JOB, job);
    job.start();
  }

  /** One daily run, unless one is going here or on another instance: what it did, or null when skipped. */
  run(): Promise<DailyRun | null> {
    if (this.running) return Promise.resolve(null);
    const run = this.runLocked()
      .catch((err: Error) => {
        this.logger.warn(`Daily values job failed: ${err.message}`);
        return null;
      })
      .finally(() => (this.running = null));
    this.running = run;
    return run;
  }

  private async runLocked(): Promise<DailyRun | null> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      const [{ locked }] = (await qr.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [...DAILY_VALUES_LOCK])) as { locked: boolean }[];
      if (!locked) {
        this.logger.log('Daily values: another instance is running the job');
        return null;
      }
      try {
        return await this.dailyValues.runDaily();
      } finally {
        await qr.query('SELECT pg_advisory_unlock($1, $2)', [...DAILY_VALUES_LOCK]);
      }
    } finally {
      await qr.release();
    }
  }
}

/** The daily job, for the API process (AppModule): the scheduler comes from the global ScheduleModule that PriceFeedModule imports. */
@Module({ imports: [PortfoliosModule], providers: [DailyValuesJob] })
export class DailyValuesJobModule {}
