import { Module } from '@nestjs/common';
import { ValuationModule } from '../valuation/valuation.module';
import { IntradayRecorderService } from './intraday-recorder.service';
import { IntradayModule } from './intraday.module';

/**
 * The recorder of the intraday value series (IntradayRecorderService), for the API process
 * (AppModule): it needs the live valuation and the scheduler (SchedulerRegistry, from the global
 * ScheduleModule.forRoot() that PriceFeedModule imports).
 */
@Module({
  imports: [IntradayModule, ValuationModule],
  providers: [IntradayRecorderService],
  exports: [IntradayRecorderService],
})
export class IntradayRecorderModule {}
