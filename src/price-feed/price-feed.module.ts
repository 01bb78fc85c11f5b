import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { FeedLeaderLock } from './feed/feed-leader.lock';
import { FeedStatusTracker } from './feed/feed-status.tracker';
import { FEED_RUN_OPTIONS, FeedRunOptions, PriceFeedScheduler } from './feed/price-feed.scheduler';
import { ForceUpdateController } from './force-update/force-update.controller';
import { ForceUpdateService } from './force-update/force-update.service';
import { PriceFeedCoreModule } from './price-feed-core.module';

/**
 * Price providers, the validate → write batch → publish pipeline, its scheduler
 * and the latest-price cache. Imported by AppModule (and RealtimeModule, for
 * LatestPriceSource): the scheduler runs only when PRICE_FEED_MODE=inprocess;
 * `PriceFeedModule.standalone()` is the separate feed process's variant.
 */
@Module({
  imports: [ScheduleModule.forRoot(), PriceFeedCoreModule],
  controllers: [ForceUpdateController],
  providers: [FeedLeaderLock, FeedStatusTracker, PriceFeedScheduler, ForceUpdateService],
  exports: [PriceFeedCoreModule, PriceFeedScheduler],
})
export class PriceFeedModule {
  /** Runs the feed whatever PRICE_FEED_MODE says (src/price-feed.main.ts). */
  static standalone(): DynamicModule {
    const options: FeedRunOptions = { standalone: true };
    return { module: PriceFeedModule, providers: [{ provide: FEED_RUN_OPTIONS, useValue: options }] };
  }
}
