/**
 * class-validator DTOs for every client message (runtime side of
 * client-messages.ts). The parser picks the DTO by `type`, transforms the
 * plain object into it and validates with the service-wide policy
 * (whitelist, forbid unknown fields).
 */
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import type {
  AssetSelection,
  AssetSubscription,
  ClientMessageMap,
  ClientMessageType,
  ConnectionOptions,
  MessageId,
  PortfolioSelection,
  PortfolioSeriesRange,
  PortfolioSubscription,
} from './client-messages';

import { SYMBOL_PATTERN } from './symbol';

export { SYMBOL_PATTERN };
/** Most symbols one subscribe/unsubscribe message may name. */
export const MAX_SYMBOLS_PER_MESSAGE = 100;
export const MAX_ID_LENGTH = 64;
export const MAX_PORTFOLIO_ID = 2_147_483_647;
export const BATCH_MS_MIN = 10;
export const BATCH_MS_MAX = 1000;
/** portfolio_min_change_bps: 0 (every change) to 10000 (100 %). */
export const PORTFOLIO_MIN_CHANGE_BPS_MAX = 10_000;
/** portfolio_max_interval: 0 (off) or 1 to 3600 seconds. */
export const PORTFOLIO_MAX_INTERVAL_MAX = 3600;
/** subscribe_portfolio `series`: the ranges of the intraday value series a subscription can ask for. */
export const PORTFOLIO_SERIES_RANGES = ['1d'] as const satisfies readonly PortfolioSeriesRange[];

const normaliseSymbol = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);
const normaliseSymbols = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v)) : value;
/** `since` keys upper-cased like the symbols they name (anything not a plain object is left to the check). */
const normaliseSinceKeys = ({ value }: { value: unknown }) =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.trim().toUpperCase(), v]))
    : value;
const digitsToNumber = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value);

@ValidatorConstraint({ name: 'isMessageId' })
class IsMessageIdConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value === 'string') return value.length > 0 && value.length <= MAX_ID_LENGTH;
    return typeof value === 'number' && Number.isSafeInteger(value);
  }
  defaultMessage(): string {
    return `id must be a string of 1..${MAX_ID_LENGTH} characters or an integer`;
  }
}

@ValidatorConstraint({ name: 'notBoth' })
class NotBothConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    const [other] = args.constraints as [string];
    return (args.object as Record<string, unknown>)[other] === undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    return `give either ${args.property} or ${(args.constraints as [string])[0]}, not both`;
  }
}

@ValidatorConstraint({ name: 'batchMs' })
class BatchMsConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return value === 0 || (typeof value === 'number' && Number.isInteger(value) && value >= BATCH_MS_MIN && value <= BATCH_MS_MAX);
  }
  defaultMessage(): string {
    return `batch_ms must be 0 (off) or an integer from ${BATCH_MS_MIN} to ${BATCH_MS_MAX}`;
  }
}

@ValidatorConstraint({ name: 'integerRange' })
class IntegerRangeConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const [min, max] = args.constraints as [number, number];
    return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  }
  defaultMessage(args: ValidationArguments): string {
    const [min, max, what] = args.constraints as [number, number, string];
    return `${args.property} must be an integer from ${min} to ${max}${what ? ` (${what})` : ''}`;
  }
}

@ValidatorConstraint({ name: 'portfolioId' })
class PortfolioIdConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_PORTFOLIO_ID;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be an integer from 1 to ${MAX_PORTFOLIO_ID}`;
  }
}

/** A `seq` a client got: a safe integer from 0 (0: it got none yet). */
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

@ValidatorConstraint({ name: 'sinceSeq' })
class SinceSeqConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return isSeq(value) && (args.object as AssetSubscription).symbols === undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    if ((args.object as AssetSubscription).symbols !== undefined) return 'since_seq goes with symbol; with symbols, give since: {SYMBOL: seq}';
    return 'since_seq must be an integer from 0 (the last seq received)';
  }
}

@ValidatorConstraint({ name: 'sinceMap' })
class SinceMapConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const symbols = (args.object as AssetSubscription).symbols;
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Array.isArray(symbols)) return false;
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length <= MAX_SYMBOLS_PER_MESSAGE && entries.every(([k, v]) => symbols.includes(k) && isSeq(v));
  }
  defaultMessage(): string {
    return 'since must be an object {SYMBOL: seq} whose symbols are in symbols, each seq an integer from 0';
  }
}

@ValidatorConstraint({ name: 'emptyObject' })
class EmptyObjectConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
  }
  defaultMessage(): string {
    return 'data must be empty ({}) for this message';
  }
}

// ---- data DTOs -------------------------------------------------------------

export class AssetSelectionDto implements AssetSelection {
  /** Validated when present, and required when `symbols` is absent. */
  @ValidateIf((o: AssetSelectionDto) => o.symbol !== undefined || o.symbols === undefined)
  @IsDefined({ message: 'symbol (or symbols) is required' })
  @Validate(NotBothConstraint, ['symbols'])
  @Transform(normaliseSymbol)
  @IsString()
  @MaxLength(32)
  @Matches(SYMBOL_PATTERN, { message: 'symbol must be 1-32 characters of A-Z, 0-9 and . - = ^' })
  symbol?: string;

  @IsOptional()
  @Transform(normaliseSymbols)
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_SYMBOLS_PER_MESSAGE)
  @IsString({ each: true })
  @MaxLength(32, { each: true })
  @Matches(SYMBOL_PATTERN, { each: true, message: 'each symbol must be 1-32 characters of A-Z, 0-9 and . - = ^' })
  symbols?: string[];
}

/** subscribe_asset: a selection, plus where a resuming client stopped. */
export class AssetSubscriptionDto extends AssetSelectionDto implements AssetSubscription {
  @IsOptional()
  @Validate(SinceSeqConstraint)
  since_seq?: number;

  @IsOptional()
  @Transform(normaliseSinceKeys)
  @Validate(SinceMapConstraint)
  since?: Record<string, number>;
}

export class PortfolioSelectionDto implements PortfolioSelection {
  /** One check, one message (an integer from 1 to 2147483647; digit strings are converted first). */
  @IsDefined()
  @Transform(digitsToNumber)
  @Validate(PortfolioIdConstraint)
  portfolio_id: number;
}

/** subscribe_portfolio: with since_seq, a resume; with series, the intraday value series and its live points. */
export class PortfolioSubscriptionDto extends PortfolioSelectionDto implements PortfolioSubscription {
  @IsOptional()
  @Validate(IntegerRangeConstraint, [0, Number.MAX_SAFE_INTEGER, 'the last seq received'])
  since_seq?: number;

  @IsOptional()
  @IsIn(PORTFOLIO_SERIES_RANGES, { message: `series must be one of: ${PORTFOLIO_SERIES_RANGES.join(', ')}` })
  series?: PortfolioSeriesRange;
}

export class ConnectionOptionsDto implements ConnectionOptions {
  @IsOptional()
  @Validate(BatchMsConstraint)
  batch_ms?: number;

  @IsOptional()
  @Validate(IntegerRangeConstraint, [0, PORTFOLIO_MIN_CHANGE_BPS_MAX, 'basis points of total_value; 0 = every change'])
  portfolio_min_change_bps?: number;

  @IsOptional()
  @Validate(IntegerRangeConstraint, [0, PORTFOLIO_MAX_INTERVAL_MAX, 'seconds; 0 = off'])
  portfolio_max_interval?: number;

  @IsOptional()
  @IsBoolean({ message: 'portfolio_positions must be true or false' })
  portfolio_positions?: boolean;
}

// ---- envelope DTOs (one per type: the discriminated union) -----------------

abstract class EnvelopeDto {
  abstract type: ClientMessageType;

  @IsOptional()
  @Validate(IsMessageIdConstraint)
  id?: MessageId;

  /** The guide's client sends its own send time; accepted, not used. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timestamp?: string;
}

export class PingMessageDto extends EnvelopeDto {
  @IsIn(['ping']) type: 'ping';
  /** Anything (the guide's client sends `{}`); not interpreted. */
  @IsOptional() @IsObject() data?: Record<string, unknown>;
}

export class SubscribeAssetMessageDto extends EnvelopeDto {
  @IsIn(['subscribe_asset']) type: 'subscribe_asset';
  @IsDefined() @IsObject() @ValidateNested() @Type(() => AssetSubscriptionDto) data: AssetSubscriptionDto;
}

export class UnsubscribeAssetMessageDto extends EnvelopeDto {
  @IsIn(['unsubscribe_asset']) type: 'unsubscribe_asset';
  @IsDefined() @IsObject() @ValidateNested() @Type(() => AssetSelectionDto) data: AssetSelectionDto;
}

export class SubscribePortfolioMessageDto extends EnvelopeDto {
  @IsIn(['subscribe_portfolio']) type: 'subscribe_portfolio';
  @IsDefined() @IsObject() @ValidateNested() @Type(() => PortfolioSubscriptionDto) data: PortfolioSubscriptionDto;
}

export class UnsubscribePortfolioMessageDto extends EnvelopeDto {
  @IsIn(['unsubscribe_portfolio']) type: 'unsubscribe_portfolio';
  @IsDefined() @IsObject() @ValidateNested() @Type(() => PortfolioSelectionDto) data: PortfolioSelectionDto;
}

export class ListSubscriptionsMessageDto extends EnvelopeDto {
  @IsIn(['list_subscriptions']) type: 'list_subscriptions';
  @IsOptional() @IsObject() @Validate(EmptyObjectConstraint) data?: Record<string, never>;
}

export class SetOptionsMessageDto extends EnvelopeDto {
  @IsIn(['set_options']) type: 'set_options';
  @IsDefined() @IsObject() @ValidateNested() @Type(() => ConnectionOptionsDto) data: ConnectionOptionsDto;
}

/** type -> DTO class; `satisfies` keeps this table in step with ClientMessageMap. */
export const CLIENT_MESSAGE_DTOS = {
  ping: PingMessageDto,
  subscribe_asset: SubscribeAssetMessageDto,
  unsubscribe_asset: UnsubscribeAssetMessageDto,
  subscribe_portfolio: SubscribePortfolioMessageDto,
  unsubscribe_portfolio: UnsubscribePortfolioMessageDto,
  list_subscriptions: ListSubscriptionsMessageDto,
  set_options: SetOptionsMessageDto,
} satisfies { [K in ClientMessageType]: new () => EnvelopeDto & { type: K; data?: unknown } };

/** Compile-time check that each DTO's data fits the plain protocol types in client-messages.ts. */
type DataFits<K extends ClientMessageType> = NonNullable<InstanceType<(typeof CLIENT_MESSAGE_DTOS)[K]>['data']> extends ClientMessageMap[K] ? true : false;
type AssertAll<T extends { [K in ClientMessageType]: true }> = T;
export type ClientMessageDtosFit = AssertAll<{ [K in ClientMessageType]: DataFits<K> }>;
