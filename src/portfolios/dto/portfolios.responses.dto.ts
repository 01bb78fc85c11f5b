import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { PortfolioJson, PortfolioList, PositionJson, PositionList } from '../../common/api-types';
import { ApiDateTime, ApiDecimal } from '../../common/openapi';
import type { AssertTrue, StrictSame } from '../../common/type-checks';

/** OpenAPI schema of PositionJson (src/common/api-types.ts). */
@ApiSchema({ name: 'Position', description: 'A position with its valuation (money as decimal strings, computed exactly).' })
export class PositionDto implements PositionJson {
  @ApiProperty({ type: 'integer', example: 5 })
  id: number;

  @ApiProperty({ type: 'integer', example: 2 })
  portfolio_id: number;

  @ApiProperty({ example: 'AAPL' })
  symbol: string;

  @ApiProperty({ example: 'Apple Inc.' })
  name: string;

  @ApiProperty({ example: 'STOCK' })
  asset_type: string;

  @ApiProperty({ example: 'USD' })
  currency: string;

  @ApiDecimal('50')
  quantity: string;

  @ApiDecimal('140.1')
  average_cost: string;

  @ApiDecimal('152.75', { nullable: true })
  current_price: string | null;

  @ApiDecimal('150.25', { nullable: true })
  previous_close: string | null;

  @ApiDateTime({ nullable: true })
  last_updated: string | null;

  @ApiDecimal('7637.5', { description: 'quantity × current_price ("0" without a price).' })
  market_value: string;

  @ApiDecimal('7005', { description: 'quantity × average_cost.' })
  cost_basis: string;

  @ApiDecimal('632.5', { nullable: true, description: 'market_value − cost_basis (null without a price).' })
  unrealized_gain: string | null;

  @ApiDecimal('9.0293', { nullable: true })
  unrealized_gain_percent: string | null;

  @ApiDecimal('125', { description: 'quantity × (current_price − previous_close).' })
  daily_change: string;

  @ApiDecimal('1.6639')
  daily_change_percent: string;

  @ApiDateTime()
  created_at: string;

  @ApiDateTime()
  updated_at: string;
}

/** OpenAPI schema of PortfolioJson (src/common/api-types.ts). */
@ApiSchema({ name: 'Portfolio', description: 'A portfolio with its valuation (the same definitions as the live `portfolio_update` messages).' })
export class PortfolioDto implements PortfolioJson {
  @ApiProperty({ type: 'integer', example: 2 })
  id: number;

  @ApiProperty({ example: 'Growth' })
  name: string;

  @ApiProperty({ example: '' })
  description: string;

  @ApiProperty({ example: 'USD' })
  base_currency: string;

  @ApiDateTime()
  created_at: string;

  @ApiDateTime()
  updated_at: string;

  @ApiProperty({ type: 'integer', example: 2 })
  positions_count: number;

  @ApiDecimal('39262.75', { description: 'Σ quantity × current_price.' })
  total_value: string;

  @ApiDecimal('-249.75', { description: 'Σ quantity × (current_price − previous_close).' })
  daily_change: string;

  @ApiDecimal('-0.6321')
  daily_change_percent: string;

  @ApiDecimal('28005', { description: 'Σ quantity × average_cost.' })
  cost_basis: string;

  @ApiDecimal('11257.75')
  unrealized_gain: string;

  @ApiDecimal('40.1991')
  unrealized_gain_percent: string;

  @ApiProperty({ example: false, description: 'True when a position has no price, or a price older than 3 × REALTIME_UPDATE_INTERVAL.' })
  stale: boolean;

  @ApiDateTime({ nullable: true, description: 'Newest price time among the positions (null if none).' })
  as_of: string | null;

  @ApiPropertyOptional({ type: () => PositionDto, isArray: true, description: 'Only on GET /api/portfolios/:id.' })
  positions?: PositionDto[];
}

@ApiSchema({ name: 'PortfolioList', description: 'Your portfolios with their valuation, without positions.' })
export class PortfolioListDto implements PortfolioList {
  @ApiProperty({ type: () => PortfolioDto, isArray: true })
  items: PortfolioDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total: number;
}

@ApiSchema({ name: 'PositionList' })
export class PositionListDto implements PositionList {
  @ApiProperty({ type: () => PositionDto, isArray: true })
  items: PositionDto[];

  @ApiProperty({ type: 'integer', example: 7 })
  total: number;
}

export type _PortfolioDtosFit = [
  AssertTrue<StrictSame<PositionJson, PositionDto>>,
  AssertTrue<StrictSame<PortfolioJson, PortfolioDto>>,
  AssertTrue<StrictSame<PortfolioList, PortfolioListDto>>,
  AssertTrue<StrictSame<PositionList, PositionListDto>>,
];
