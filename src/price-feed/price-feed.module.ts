import { Module } from '@nestjs/common';
import { LatestPriceCache } from './cache/latest-price.cache';
import { LatestPriceSource } from './latest-price.source';

/** Price providers, the validate → write batch → publish pipeline, its scheduler and the latest-price cache. */
@Module({
  providers: [LatestPriceCache, { provide: LatestPriceSource, useExisting: LatestPriceCache }],
  exports: [LatestPriceSource, LatestPriceCache],
})
export class PriceFeedModule {}
