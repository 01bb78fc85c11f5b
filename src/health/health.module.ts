import { Module } from '@nestjs/common';
import { PriceFeedModule } from '../price-feed/price-feed.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { ReadinessService } from './readiness.service';

@Module({
  imports: [PriceFeedModule],
  controllers: [HealthController, MetricsController],
  providers: [ReadinessService],
})
export class HealthModule {}
