import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { PortfoliosModule } from '../portfolios.module';
import { DailyValuesService } from './daily-values.service';

/** The daily job: a cron job of this name, every day at 00:05 UTC. */
export const DAILY_VALUES_JOB = 'portfolio-daily-values';
export const DAILY_VALUES_CRON = '0 5 0 * * *';

/**
 * Runs DailyValuesService.runDaily every day at 00:05 UTC (cron job `portfolio-daily-values`), in
 * the API process only (the CLI has no scheduler). A run still going when the next one is due is
 * not doubled.
 */
@Injectable()
export class DailyValuesJob implements OnApplicationBootstrap {
  private readonly logger = new Logger('DailyValues');
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly dailyValues: DailyValuesService,
  ) {}

  onApplicationBootstrap(): void {
    const job = new CronJob(DAILY_VALUES_CRON, () => this.tick(), null, false, 'UTC');
    this.registry.addCronJob(DAILY_VALUES_JOB, job);
    job.start();
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.dailyValues
      .runDaily()
      .catch((err: Error) => this.logger.warn(`Daily values job failed: ${err.message}`))
      .finally(() => (this.running = null));
  }
}

/** The daily job, for the API process (AppModule): the scheduler comes from the global ScheduleModule that PriceFeedModule imports. */
@Module({ imports: [PortfoliosModule], providers: [DailyValuesJob] })
export class DailyValuesJobModule {}
