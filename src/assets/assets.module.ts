import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AssetCatalogService } from './asset-catalog.service';
import { Asset } from './entities/asset.entity';
import { PriceHistory } from './entities/price-history.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Asset, PriceHistory])],
  providers: [AssetCatalogService],
  exports: [AssetCatalogService, TypeOrmModule],
})
export class AssetsModule {}
