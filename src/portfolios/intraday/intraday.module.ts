import { Module } from '@nestjs/common';
import { IntradaySeriesService } from './intraday-series.service';

/**
 * The intraday value series (table portfolio_value_points): IntradaySeriesService reads and
 * writes it (the global DataSource only, so the one-shot commands can load this module too).
 * Imported by PortfoliosModule (the history endpoint), RealtimeModule (`series` of
 * `subscribe_portfolio`) and IntradayRecorderModule (the recorder, API process only).
 */
@Module({
  providers: [IntradaySeriesService],
  exports: [IntradaySeriesService],
})
export class IntradayModule {}
