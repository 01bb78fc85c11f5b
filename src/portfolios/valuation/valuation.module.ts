import { Module } from '@nestjs/common';
import { LiveValuationService } from './live-valuation.service';
import { PortfolioValuationSource } from './valuation.types';

/**
 * Live portfolio valuation engine. Provides PortfolioValuationSource (the
 * realtime hub's view) backed by LiveValuationService.
 */
@Module({
  providers: [LiveValuationService, { provide: PortfolioValuationSource, useExisting: LiveValuationService }],
  exports: [LiveValuationService, PortfolioValuationSource],
})
export class ValuationModule {}
