import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Matches } from 'class-validator';
import { SYMBOL_PATTERN } from '../../assets/catalog/catalog';

/** Most symbols one force-update request may ask for. */
const FORCE_UPDATE_MAX_SYMBOLS = 50;

/** Body of POST /api/realtime/force_price_update/: `{"symbols": ["AAPL", "GOOGL", "MSFT"]}`. */
export class ForceUpdateDto {
  @ApiProperty({
    type: 'string',
    isArray: true,
    minItems: 1,
    maxItems: FORCE_UPDATE_MAX_SYMBOLS,
    items: { type: 'string', pattern: SYMBOL_PATTERN.source },
    example: ['AAPL', 'GOOGL', 'MSFT'],
    description: 'Symbols to price now (trimmed and upper-cased first).',
  })
  @Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v)) : value))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(FORCE_UPDATE_MAX_SYMBOLS)
  @IsString({ each: true })
  @Matches(SYMBOL_PATTERN, { each: true, message: 'each value in symbols must be a symbol like AAPL, BTC-USD or EURUSD' })
  symbols: string[];
}
