import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsDecimalInput } from '../../common/decimal-input';
import { ApiDecimalInput } from '../../common/openapi';
import { SYMBOL_PATTERN } from '../catalog/catalog';
import { ASSET_TYPES, AssetType } from '../entities/asset.entity';

const upperTrim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** GET /api/assets query. */
export class ListAssetsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  offset: number = 0;
  @ApiPropertyOptional({ enum: ASSET_TYPES, description: 'Asset type (any case).' })
  @IsOptional()
  @Transform(upperTrim)
  @IsIn(ASSET_TYPES as unknown as string[], { message: `type must be one of ${ASSET_TYPES.join(', ')}` })
  type?: AssetType;
  @ApiPropertyOptional({ maxLength: 100, description: 'Matches a symbol prefix or any part of the name, case-insensitively.', example: 'app' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  q?: string;
}

/** GET /api/assets/:symbol/history query. */
export class HistoryQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 3650, default: 30 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  days: number = 30;
}

/** POST /api/assets body (staff): start tracking a new symbol. */
export class CreateAssetDto {
  @ApiProperty({ pattern: SYMBOL_PATTERN.source, example: 'PLTR', description: 'Trimmed and upper-cased first.' })
  @Transform(upperTrim)
  @IsString()
  @Matches(SYMBOL_PATTERN, { message: 'symbol must be 1-32 characters: A-Z, 0-9 and . - = ^ (e.g. AAPL, BTC-USD, EURUSD)' })
  symbol: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Palantir Technologies Inc.' })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: ASSET_TYPES, example: 'STOCK', description: 'Any case.' })
  @Transform(upperTrim)
  @IsIn(ASSET_TYPES as unknown as string[], { message: `asset_type must be one of ${ASSET_TYPES.join(', ')}` })
  asset_type: AssetType;

  @ApiPropertyOptional({ pattern: '^[A-Za-z]{3,10}$', default: 'USD', example: 'USD' })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3,10}$/, { message: 'currency must be a currency code like USD' })
  currency?: string;

  @ApiPropertyOptional({ maxLength: 50, example: 'NYSE' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(50)
  exchange?: string;

  /** Optional starting price (it becomes current_price and previous_close until the feed prices it). */
  @ApiDecimalInput('41.82', { required: false, description: 'Starting price, > 0 (current_price and previous_close until the feed prices it).' })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: '9999999999999999' })
  price?: string;
}
