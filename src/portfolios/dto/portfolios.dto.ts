import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SYMBOL_PATTERN } from '../../assets/catalog/catalog';
import { IsDecimalInput } from '../../common/decimal-input';
import { ApiDecimalInput } from '../../common/openapi';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const upperTrim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);

/** Bounds of position inputs (well inside NUMERIC(28,8) / NUMERIC(24,8)). */
const MAX_QUANTITY = '1000000000000'; // 10^12
const MAX_AVERAGE_COST = '1000000000000000'; // 10^15

export class CreatePortfolioDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Growth', description: 'Trimmed; unique per owner.' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'name must not be empty' })
  @MaxLength(100)
  name: string;
  @ApiPropertyOptional({ maxLength: 2000, example: 'Long-term holdings' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
  @ApiPropertyOptional({ pattern: '^[A-Za-z]{3}$', example: 'USD', description: 'Three letters (default USD).' })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'base_currency must be a 3-letter currency code like USD' })
  base_currency?: string;
}

export class UpdatePortfolioDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100, example: 'Growth', description: 'Trimmed; unique per owner.' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'name must not be empty' })
  @MaxLength(100)
  name?: string;
  @ApiPropertyOptional({ maxLength: 2000, example: 'Long-term holdings' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
  @ApiPropertyOptional({ pattern: '^[A-Za-z]{3}$', example: 'USD', description: 'Three letters (default USD).' })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'base_currency must be a 3-letter currency code like USD' })
  base_currency?: string;
}

export class CreatePositionDto {
  @ApiProperty({ pattern: SYMBOL_PATTERN.source, example: 'AAPL', description: 'A tracked symbol (trimmed and upper-cased first).' })
  @Transform(upperTrim)
  @IsString()
  @Matches(SYMBOL_PATTERN, { message: 'symbol must be 1-32 characters: A-Z, 0-9 and . - = ^ (e.g. AAPL, BTC-USD, EURUSD)' })
  symbol: string;

  /** > 0, at most 10^12, at most 8 decimals; JSON number or decimal string. */
  @ApiDecimalInput('50', { description: '> 0, at most 10^12, at most 8 decimals.' })
  @IsDecimalInput({ gt: '0', lte: MAX_QUANTITY })
  quantity: string;

  /** >= 0, at most 10^15, at most 8 decimals; JSON number or decimal string. */
  @ApiDecimalInput('150.25', { description: '≥ 0, at most 10^15, at most 8 decimals.' })
  @IsDecimalInput({ gte: '0', lte: MAX_AVERAGE_COST })
  average_cost: string;
}

export class UpdatePositionDto {
  @ApiDecimalInput('60', { required: false, description: '> 0, at most 10^12, at most 8 decimals.' })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: MAX_QUANTITY })
  quantity?: string;
  @ApiDecimalInput('148.5', { required: false, description: '≥ 0, at most 10^15, at most 8 decimals.' })
  @IsOptional()
  @IsDecimalInput({ gte: '0', lte: MAX_AVERAGE_COST })
  average_cost?: string;
}
