import { Module } from '@nestjs/common';
import { AssetPricesRepository } from '../../assets/asset-prices.repository';
import { LiveValuationService } from './live-valuation.service';
import { PortfolioHoldingsRepository } from './portfolio-holdings.repository';
import { PortfolioValuationSource } from './valuation.types';

/**
 * Live portfolio valuation. Provides PortfolioValuationSource (the realtime
 * hub's view) backed by LiveValuationService, the shell around ValuationEngine
 * that reads through the repositories (stateless: they need only the global
 * DataSource, so this module imports nothing).
 */
@Module({
  providers: [
    AssetPricesRepository,
    PortfolioHoldingsRepository,
    LiveValuationService,
    { provide: PortfolioValuationSource, useExisting: LiveValuationService },
  ],
  exports: [LiveValuationService, PortfolioValuationSource],
})
export class ValuationModule {}
