import { Module } from '@nestjs/common';
import { AssetsModule } from '../assets/assets.module';
import { BusModule } from '../bus/bus.module';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { FeedMetricsServer } from './feed-metrics.server';
import { PriceFeedModule } from './price-feed.module';

/** Root module of the separate price-feed process: no HTTP server, no sockets; config, database, bus and the feed (metrics on FEED_METRICS_PORT when set). */
@Module({
  imports: [ConfigModule, DatabaseModule, BusModule, AssetsModule, PriceFeedModule.standalone()],
  providers: [FeedMetricsServer],
})
export class PriceFeedProcessModule {}
