import { Module } from '@nestjs/common';
import { AssetPricesRepository } from '../assets/asset-prices.repository';
import { LatestPriceCache } from './cache/latest-price.cache';
import { PriceFeedStatus } from './feed/price-feed-status.service';
import { LatestPriceSource } from './latest-price.source';
import { HistoryService } from './pipeline/history.service';
import { PriceBatchWriter } from './pipeline/price-batch.writer';
import { PricePipeline } from './pipeline/price-pipeline.service';
import { AlphaVantageProvider } from './providers/alphavantage.provider';
import { CoinGeckoProvider } from './providers/coingecko.provider';
import { PRICE_PROVIDERS, PriceProvider } from './providers/price-provider.interface';
import { ProviderRouter } from './providers/provider-router.service';
import { ReplayProvider } from './providers/replay.provider';
import { SimulatedProvider } from './providers/simulated.provider';
import { VendorClientFactory } from './providers/vendor-client.factory';
import { YahooProvider } from './providers/yahoo.provider';
import { PriceFeedRedis } from './redis/price-feed-redis.service';
import { QuoteValidator } from './validation/quote-validator';

const VENDORS = [SimulatedProvider, YahooProvider, AlphaVantageProvider, CoinGeckoProvider, ReplayProvider];

/**
 * Everything that prices assets, without any scheduling: providers (collected
 * under PRICE_PROVIDERS), failover router, validator, batch writer, pipeline,
 * daily history, latest-price cache and status. Used by the API, the separate
 * feed process and the one-shot commands. Relies on the root module's
 * ConfigModule, database (TypeORM DataSource) and BusModule.
 */
@Module({
  providers: [
    AssetPricesRepository,
    PriceFeedRedis,
    VendorClientFactory,
    ...VENDORS,
    {
      provide: PRICE_PROVIDERS,
      inject: VENDORS,
      useFactory: (...providers: PriceProvider[]): PriceProvider[] => providers,
    },
    ProviderRouter,
    QuoteValidator,
    PriceBatchWriter,
    PricePipeline,
    HistoryService,
    LatestPriceCache,
    { provide: LatestPriceSource, useExisting: LatestPriceCache },
    PriceFeedStatus,
  ],
  exports: [
    LatestPriceSource,
    LatestPriceCache,
    PricePipeline,
    PriceBatchWriter,
    QuoteValidator,
    HistoryService,
    ProviderRouter,
    PriceFeedStatus,
    PriceFeedRedis,
    SimulatedProvider,
    PRICE_PROVIDERS,
  ],
})
export class PriceFeedCoreModule {}
