import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { SYMBOL_PATTERN } from '../../assets/catalog/catalog';
import { IsDecimalInput } from '../../common/decimal-input';
import { ApiDecimalInput } from '../../common/openapi';
import { TRANSACTION_TYPES, type TransactionType } from '../ledger/ledger.types';
import { dateError, MIN_DATE } from './transaction-rules';

const upperTrim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);

/** Bounds of transaction inputs (inside NUMERIC(28,8) quantities and NUMERIC(24,8) prices and fees). */
export const MAX_TX_QUANTITY = '1000000000000'; // 10^12
export const MAX_TX_PRICE = '1000000000000000'; // 10^15
export const MAX_NOTE_LENGTH = 500;

const TYPE_MESSAGE = `type must be one of ${TRANSACTION_TYPES.join(', ')}`;
const SYMBOL_MESSAGE = 'symbol must be 1-32 characters: A-Z, 0-9 and . - = ^ (e.g. AAPL, BTC-USD, EURUSD)';
const CURRENCY_MESSAGE = 'currency must be a 3-letter currency code like USD';

/** A transaction date: YYYY-MM-DD, a real calendar day, from 1900-01-01 up to today (UTC). */
function IsTransactionDate(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyKey: string | symbol) =>
    registerDecorator({
      name: 'isTransactionDate',
      target: target.constructor,
      propertyName: propertyKey as string,
      options,
      validator: {
        validate: (value: unknown) => dateError(value) === null,
        defaultMessage: (args: ValidationArguments) => dateError(args.value) ?? 'date is invalid',
      },
    });
}

const DESCRIPTIONS = {
  type: 'BUY, SELL, DIVIDEND, FEE, SPLIT, DEPOSIT or WITHDRAWAL (any case). What each needs: docs/api.md, "Transactions".',
  symbol: 'A tracked symbol (trimmed and upper-cased). Required for BUY, SELL, DIVIDEND and SPLIT; optional for FEE; empty for DEPOSIT and WITHDRAWAL.',
  quantity:
    'Shares (BUY, SELL; DIVIDEND: optional, the amount is then per share), or the split ratio (SPLIT: new shares per old share). > 0, at most 10^12, at most 8 decimals. Empty for FEE, DEPOSIT, WITHDRAWAL.',
  price:
    'Price per share (BUY, SELL), dividend per share or total (DIVIDEND), or the amount (FEE, DEPOSIT, WITHDRAWAL). > 0, at most 10^15, at most 8 decimals. Empty for SPLIT.',
  fee: '≥ 0 (default 0), at most 10^15, at most 8 decimals. Part of the cost (BUY), taken from the proceeds (SELL), charged to cash otherwise.',
  currency: 'ISO 4217 code (default: the asset’s currency, else the portfolio’s base currency). Amounts are taken as they are (no conversion).',
  date: `YYYY-MM-DD, from ${MIN_DATE} to today (UTC).`,
  note: `Free text, at most ${MAX_NOTE_LENGTH} characters.`,
};

/** POST /api/portfolios/:id/transactions body (also one CSV line of an import). */
export class CreateTransactionDto {
  @ApiProperty({ enum: TRANSACTION_TYPES, example: 'BUY', description: DESCRIPTIONS.type })
  @Transform(upperTrim)
  @IsString()
  @IsIn(TRANSACTION_TYPES as unknown as string[], { message: TYPE_MESSAGE })
  type: TransactionType;

  @ApiPropertyOptional({ type: 'string', pattern: SYMBOL_PATTERN.source, example: 'AAPL', nullable: true, description: DESCRIPTIONS.symbol })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(SYMBOL_PATTERN, { message: SYMBOL_MESSAGE })
  symbol?: string | null;

  @ApiDecimalInput('10', { required: false, description: DESCRIPTIONS.quantity })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: MAX_TX_QUANTITY })
  quantity?: string | null;

  @ApiDecimalInput('150.25', { required: false, description: DESCRIPTIONS.price })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: MAX_TX_PRICE })
  price?: string | null;

  @ApiDecimalInput('1', { required: false, description: DESCRIPTIONS.fee })
  @IsOptional()
  @IsDecimalInput({ gte: '0', lte: MAX_TX_PRICE })
  fee?: string | null;

  @ApiPropertyOptional({ type: 'string', pattern: '^[A-Za-z]{3}$', example: 'USD', description: DESCRIPTIONS.currency })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: CURRENCY_MESSAGE })
  currency?: string | null;

  @ApiProperty({ type: 'string', format: 'date', example: '2026-01-05', description: DESCRIPTIONS.date })
  @IsString()
  @IsTransactionDate()
  date: string;

  @ApiPropertyOptional({ type: 'string', maxLength: MAX_NOTE_LENGTH, nullable: true, example: 'Monthly savings plan', description: DESCRIPTIONS.note })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_NOTE_LENGTH)
  note?: string | null;
}

/**
 * PATCH /api/portfolios/:id/transactions/:txId body: any of the fields; `null` clears
 * `symbol`, `quantity`, `price` and `note` (a fee of null is 0). The result must fit its type.
 */
export class UpdateTransactionDto {
  @ApiPropertyOptional({ enum: TRANSACTION_TYPES, example: 'SELL', description: DESCRIPTIONS.type })
  @ValidateIf((_o, v) => v !== undefined)
  @Transform(upperTrim)
  @IsString()
  @IsIn(TRANSACTION_TYPES as unknown as string[], { message: TYPE_MESSAGE })
  type?: TransactionType;

  @ApiPropertyOptional({
    type: 'string',
    pattern: SYMBOL_PATTERN.source,
    example: 'AAPL',
    nullable: true,
    description: `${DESCRIPTIONS.symbol} null clears it.`,
  })
  @IsOptional()
  @Transform(upperTrim)
  @IsString()
  @Matches(SYMBOL_PATTERN, { message: SYMBOL_MESSAGE })
  symbol?: string | null;

  @ApiDecimalInput('5', { required: false, description: `${DESCRIPTIONS.quantity} null clears it.` })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: MAX_TX_QUANTITY })
  quantity?: string | null;

  @ApiDecimalInput('160', { required: false, description: `${DESCRIPTIONS.price} null clears it.` })
  @IsOptional()
  @IsDecimalInput({ gt: '0', lte: MAX_TX_PRICE })
  price?: string | null;

  @ApiDecimalInput('0', { required: false, description: `${DESCRIPTIONS.fee} null sets 0.` })
  @IsOptional()
  @IsDecimalInput({ gte: '0', lte: MAX_TX_PRICE })
  fee?: string | null;

  @ApiPropertyOptional({ type: 'string', pattern: '^[A-Za-z]{3}$', example: 'USD', description: 'ISO 4217 code.' })
  @ValidateIf((_o, v) => v !== undefined)
  @Transform(upperTrim)
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: CURRENCY_MESSAGE })
  currency?: string;

  @ApiPropertyOptional({ type: 'string', format: 'date', example: '2026-01-06', description: DESCRIPTIONS.date })
  @ValidateIf((_o, v) => v !== undefined)
  @IsString()
  @IsTransactionDate()
  date?: string;

  @ApiPropertyOptional({ type: 'string', maxLength: MAX_NOTE_LENGTH, nullable: true, description: `${DESCRIPTIONS.note} null clears it.` })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_NOTE_LENGTH)
  note?: string | null;
}

/** POST /api/portfolios/:id/transactions/import query. */
export class ImportTransactionsQuery {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    default: 'false',
    description: 'true: check and report only, write nothing. false (default): write every line, or nothing when a line or the replay is refused.',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'dry_run must be true or false' })
  dry_run?: 'true' | 'false';
}

/** GET /api/portfolios/:id/transactions query: a page of the ledger. */
export class ListTransactionsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 5000, default: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  limit: number = 1000;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  offset: number = 0;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc', description: '`asc`: replay order (date, then id); `desc`: newest first.' })
  @IsOptional()
  @IsIn(['asc', 'desc'], { message: 'order must be asc or desc' })
  order: 'asc' | 'desc' = 'asc';
}
