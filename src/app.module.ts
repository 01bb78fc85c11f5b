import { Module } from '@nestjs/common';
import { AssetsModule } from './assets/assets.module';
import { AuthModule } from './auth/auth.module';
import { BusModule } from './bus/bus.module';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { IntradayRecorderModule } from './portfolios/intraday/intraday-recorder.module';
import { DailyValuesJobModule } from './portfolios/daily-values/daily-values.job';
import { PortfoliosModule } from './portfolios/portfolios.module';
import { ValuationModule } from './portfolios/valuation/valuation.module';
import { PriceFeedModule } from './price-feed/price-feed.module';
import { RealtimeModule } from './realtime/realtime.module';
import { WebModule } from './web/web.module';

/** The API process: REST, sessions, both socket transports and (by default) the in-process price feed. */
@Module({
  imports: [
    ConfigModule,
    DatabaseModule,
    BusModule,
    AuthModule,
    AssetsModule,
    PortfoliosModule,
    DailyValuesJobModule,
    ValuationModule,
    IntradayRecorderModule,
    PriceFeedModule,
    RealtimeModule,
    HealthModule,
    WebModule,
  ],
})
export class AppModule {}
