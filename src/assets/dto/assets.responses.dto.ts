import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { AssetHistoryJson, AssetJson, AssetPage, HistoryPointJson } from '../../common/api-types';
import { ApiDateTime, ApiDecimal } from '../../common/openapi';
import type { AssertTrue, StrictSame } from '../../common/type-checks';
import { ASSET_TYPES } from '../entities/asset.entity';

/** OpenAPI schema of AssetJson (src/common/api-types.ts). */
@ApiSchema({ name: 'Asset', description: 'A tracked asset with its latest price (money as decimal strings).' })
export class AssetDto implements AssetJson {
  @ApiProperty({ example: 'AAPL' })
  symbol: string;

  @ApiProperty({ example: 'Apple Inc.' })
  name: string;

  @ApiProperty({ enum: ASSET_TYPES, example: 'STOCK' })
  asset_type: string;

  @ApiProperty({ example: 'USD' })
  currency: string;

  @ApiProperty({ type: 'string', nullable: true, example: 'NASDAQ' })
  exchange: string | null;

  @ApiDecimal('152.75', { nullable: true, description: 'Latest price (the catalog’s reference price until the feed prices it).' })
  current_price: string | null;

  @ApiDecimal('150.25', { nullable: true })
  previous_close: string | null;

  @ApiDecimal('153', { nullable: true })
  day_high: string | null;

  @ApiDecimal('149.5', { nullable: true })
  day_low: string | null;

  @ApiDecimal('50000000', { nullable: true })
  volume: string | null;

  @ApiDateTime({ nullable: true, description: 'When the feed last priced it (null until then).' })
  last_updated: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'simulated', description: '`catalog` until the feed has priced the asset.' })
  source: string | null;

  @ApiDecimal('2.5', { nullable: true, description: 'current_price − previous_close (null while either is unknown).' })
  change: string | null;

  @ApiDecimal('1.6639', { nullable: true, description: 'change / previous_close × 100, 4 decimals ("0" when previous_close is 0).' })
  change_percent: string | null;
}

@ApiSchema({ name: 'AssetPage', description: 'One page of assets, ordered by symbol.' })
export class AssetPageDto implements AssetPage {
  @ApiProperty({ type: () => AssetDto, isArray: true })
  items: AssetDto[];

  @ApiProperty({ type: 'integer', example: 129, description: 'Assets matching the filters (all pages).' })
  total: number;

  @ApiProperty({ type: 'integer', example: 50 })
  limit: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset: number;
}

@ApiSchema({ name: 'HistoryPoint', description: 'One daily bar.' })
export class HistoryPointDto implements HistoryPointJson {
  @ApiDateTime()
  timestamp: string;

  @ApiDecimal('410.2')
  open: string;

  @ApiDecimal('415')
  high: string;

  @ApiDecimal('408.75')
  low: string;

  @ApiDecimal('414.1')
  close: string;

  @ApiDecimal('21000000')
  volume: string;
}

@ApiSchema({ name: 'AssetHistory', description: 'Daily bars of the last `days` days, oldest first.' })
export class AssetHistoryDto implements AssetHistoryJson {
  @ApiProperty({ example: 'MSFT' })
  symbol: string;

  @ApiProperty({ enum: ['1d'], example: '1d' })
  interval: '1d';

  @ApiProperty({ type: 'integer', example: 30 })
  days: number;

  @ApiProperty({ type: () => HistoryPointDto, isArray: true })
  items: HistoryPointDto[];
}

export type _AssetDtosFit = [
  AssertTrue<StrictSame<AssetJson, AssetDto>>,
  AssertTrue<StrictSame<AssetPage, AssetPageDto>>,
  AssertTrue<StrictSame<HistoryPointJson, HistoryPointDto>>,
  AssertTrue<StrictSame<AssetHistoryJson, AssetHistoryDto>>,
];
