import { Transform } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SYMBOL_PATTERN } from '../../assets/catalog/catalog';
import { IsDecimalInput } from '../../common/decimal-input';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const upperTrim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);

/** Bounds of position inputs (well inside NUMERIC(28,8) / NUMERIC(24,8)). */
const MAX_QUANTITY = '1000000000000'; // 10^12
const MAX_AVERAGE_COST = '1000000000000000'; // 10^15

export class CreatePortfolioDto {
  @Transform(trim) @IsString() @IsNotEmpty({ message: 'name must not be empty' }) @MaxLength(100) name: string;
  @IsOptional() @IsString() @MaxLength(2000) description?: string;
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'base_currency must be a 3-letter currency code like USD' })
  base_currency?: string;
}

export class UpdatePortfolioDto {
  @IsOptional() @Transform(trim) @IsString() @IsNotEmpty({ message: 'name must not be empty' }) @MaxLength(100) name?: string;
  @IsOptional() @IsString() @MaxLength(2000) description?: string;
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'base_currency must be a 3-letter currency code like USD' })
  base_currency?: string;
}

export class CreatePositionDto {
  @Transform(upperTrim)
  @IsString()
  @Matches(SYMBOL_PATTERN, { message: 'symbol must be 1-32 characters: A-Z, 0-9 and . - = ^ (e.g. AAPL, BTC-USD, EURUSD)' })
  symbol: string;

  /** > 0, at most 10^12, at most 8 decimals; JSON number or decimal string. */
  @IsDecimalInput({ gt: '0', lte: MAX_QUANTITY }) quantity: string;

  /** >= 0, at most 10^15, at most 8 decimals; JSON number or decimal string. */
  @IsDecimalInput({ gte: '0', lte: MAX_AVERAGE_COST }) average_cost: string;
}

export class UpdatePositionDto {
  @IsOptional() @IsDecimalInput({ gt: '0', lte: MAX_QUANTITY }) quantity?: string;
  @IsOptional() @IsDecimalInput({ gte: '0', lte: MAX_AVERAGE_COST }) average_cost?: string;
}
