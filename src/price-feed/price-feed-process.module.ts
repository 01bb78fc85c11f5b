import { Module } from '@nestjs/common';
import { AssetsModule } from '../assets/assets.module';
import { BusModule } from '../bus/bus.module';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { PriceFeedModule } from './price-feed.module';

/** Root module of the separate price-feed process: no HTTP server, no sockets; config, database, bus and the feed. */
@Module({
  imports: [ConfigModule, DatabaseModule, BusModule, AssetsModule, PriceFeedModule.standalone()],
})
export class PriceFeedProcessModule {}
