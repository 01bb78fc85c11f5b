import { Module } from '@nestjs/common';
import { AssetsModule } from './assets/assets.module';
import { AuthModule } from './auth/auth.module';
import { BusModule } from './bus/bus.module';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { PortfoliosModule } from './portfolios/portfolios.module';

/** The API process: REST, sessions, both socket transports and (by default) the in-process price feed. */
@Module({
  imports: [ConfigModule, DatabaseModule, BusModule, AuthModule, AssetsModule, PortfoliosModule, HealthModule],
})
export class AppModule {}
