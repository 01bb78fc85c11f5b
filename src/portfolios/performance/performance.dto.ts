import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type {
  AllocationSliceJson,
  PerformanceRange,
  PortfolioHistory,
  PortfolioHistoryPoint,
  PortfolioIntradayPoint,
  PortfolioPerformance,
} from '../../common/api-types';
import { ApiDateTime, ApiDecimal } from '../../common/openapi';
import { PERFORMANCE_RANGES } from './portfolio-performance.service';

export class PerformanceRangeQuery {
  @ApiPropertyOptional({ enum: PERFORMANCE_RANGES, default: '1m', description: 'Calendar days in UTC ending today; `all` starts at the first transaction.' })
  @IsOptional()
  @IsIn(PERFORMANCE_RANGES, { message: `range must be one of ${PERFORMANCE_RANGES.join(', ')}` })
  range?: PerformanceRange;
}

@ApiSchema({ name: 'PortfolioHistoryPoint' })
export class PortfolioHistoryPointDto implements PortfolioHistoryPoint {
  @ApiProperty({ example: '2026-12-04' }) date: string;
  @ApiDecimal('15230.5', { description: 'Holdings at that day’s close (today: live prices) + cash' }) value: string;
  @ApiDecimal('14000') cost_basis: string;
  @ApiDecimal('120') cash: string;
  @ApiDecimal('14120', { description: 'Deposits − withdrawals since the first transaction (implicit deposits included)' }) net_flows: string;
  @ApiDecimal('0', { description: 'That day’s external flow' }) flow: string;
}

@ApiSchema({ name: 'PortfolioIntradayPoint', description: 'One point of the intraday value series (a point per minute at most, while the value moves)' })
export class PortfolioIntradayPointDto implements PortfolioIntradayPoint {
  @ApiDateTime({ description: 'The start of the minute it was recorded in' }) t: string;
  @ApiDecimal('15231.25', { description: 'Total value then (holdings at live prices, as in the realtime portfolio_update)' }) value: string;
}

@ApiSchema({ name: 'PortfolioHistory', description: 'One point per calendar day of the range; with range=1d also the intraday series of the last 24 hours' })
export class PortfolioHistoryDto implements PortfolioHistory {
  @ApiProperty({ type: 'integer', example: 2 }) portfolio_id: number;
  @ApiProperty({ example: 'USD', description: 'The currency of every amount (the portfolio’s base currency)' }) base_currency: string;
  @ApiProperty({ enum: PERFORMANCE_RANGES, example: '1m' }) range: PerformanceRange;
  @ApiProperty({ example: '2026-11-07' }) from: string;
  @ApiProperty({ example: '2026-12-07' }) to: string;
  @ApiProperty({ type: [PortfolioHistoryPointDto] }) points: PortfolioHistoryPointDto[];
  @ApiPropertyOptional({
    type: [PortfolioIntradayPointDto],
    description:
      'Only with range=1d: the intraday value series of the last 24 hours, oldest first (recorded from the live valuation, a point per minute at most while the value moves)',
  })
  intraday?: PortfolioIntradayPointDto[];
}

@ApiSchema({ name: 'AllocationSlice' })
export class AllocationSliceDto implements AllocationSliceJson {
  @ApiProperty({ example: 'AAPL' }) key: string;
  @ApiDecimal('2298.4') value: string;
  @ApiDecimal('0.2301', { description: 'Share of the total; the shares sum to exactly 1' }) share: string;
}

export class AllocationDto {
  @ApiProperty({ type: [AllocationSliceDto] }) by_holding: AllocationSliceDto[];
  @ApiProperty({ type: [AllocationSliceDto] }) by_asset_type: AllocationSliceDto[];
  @ApiProperty({ type: [AllocationSliceDto] }) by_currency: AllocationSliceDto[];
}

@ApiSchema({ name: 'PortfolioPerformance', description: 'Returns and P/L over a range; unrealised P/L and allocation now, at live prices' })
export class PortfolioPerformanceDto implements PortfolioPerformance {
  @ApiProperty({ type: 'integer', example: 2 }) portfolio_id: number;
  @ApiProperty({ example: 'USD', description: 'The currency of every amount (the portfolio’s base currency)' }) base_currency: string;
  @ApiProperty({ enum: PERFORMANCE_RANGES, example: '1y' }) range: PerformanceRange;
  @ApiProperty({ example: '2025-12-07' }) from: string;
  @ApiProperty({ example: '2026-12-07' }) to: string;
  @ApiDecimal('10000', { description: 'Value at the close of the day before `from`' }) start_value: string;
  @ApiDecimal('11500') end_value: string;
  @ApiDecimal('500', { description: 'Deposits − withdrawals within the range' }) net_flows: string;
  @ApiDecimal('0.0962', { description: 'Time-weighted return (0.05 = 5 %)' }) time_weighted_return: string;
  @ApiDecimal('0.0962', { nullable: true, description: 'Annualised, for ranges of a year or more' }) time_weighted_return_annualised: string | null;
  @ApiDecimal('0.0951', { nullable: true, description: 'Money-weighted return (XIRR, annual rate); null without a solution' }) money_weighted_return:
    string | null;
  @ApiDecimal('120.5') realised_pl: string;
  @ApiDecimal('42') dividends: string;
  @ApiDecimal('3') fees: string;
  @ApiDecimal('980.1', { description: 'Now, at live prices' }) unrealised_pl: string;
  @ApiDecimal('-12.4', {
    description:
      'The part of unrealised_pl that comes from exchange rates: local cost × rate now − cost in the base currency, over the holdings in other currencies',
  })
  unrealised_fx_effect: string;
  @ApiDecimal('11380') market_value: string;
  @ApiDecimal('10399.9') cost_basis: string;
  @ApiDecimal('120') cash: string;
  @ApiProperty({ type: [String], example: [] }) unpriced: string[];
  @ApiProperty({ type: AllocationDto }) allocation: AllocationDto;
}
