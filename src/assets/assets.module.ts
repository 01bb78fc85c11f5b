import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AssetCatalogService } from './asset-catalog.service';
import { AssetsController } from './assets.controller';
import { AssetsService } from './assets.service';
import { CatalogSeedService } from './catalog/catalog-seed.service';
import { Asset } from './entities/asset.entity';
import { PriceHistory } from './entities/price-history.entity';
import { MarketClock } from './market-clock';

@Module({
  imports: [TypeOrmModule.forFeature([Asset, PriceHistory])],
  controllers: [AssetsController],
  providers: [AssetCatalogService, CatalogSeedService, AssetsService, MarketClock],
  exports: [AssetCatalogService, CatalogSeedService, AssetsService, MarketClock, TypeOrmModule],
})
export class AssetsModule {}
