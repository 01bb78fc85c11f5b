import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AssetCatalogService } from './asset-catalog.service';
import { CatalogSeedService } from './catalog/catalog-seed.service';
import { Asset } from './entities/asset.entity';
import { PriceHistory } from './entities/price-history.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Asset, PriceHistory])],
  providers: [AssetCatalogService, CatalogSeedService],
  exports: [AssetCatalogService, CatalogSeedService, TypeOrmModule],
})
export class AssetsModule {}
