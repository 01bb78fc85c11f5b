import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthenticatedGuard } from '../../auth/guards/authenticated.guard';
import type { PortfolioHistory, PortfolioPerformance } from '../../common/api-types';
import { ApiErrors, SESSION_SECURITY } from '../../common/openapi';
import { Portfolio } from '../entities/portfolio.entity';
import { OwnedPortfolio, PortfolioOwnerGuard } from '../guards/portfolio-owner.guard';
import { PerformanceRangeQuery, PortfolioHistoryDto, PortfolioPerformanceDto } from './performance.dto';
import { PortfolioPerformanceService } from './portfolio-performance.service';

const PortfolioIdParam = () =>
  ApiParam({ name: 'id', type: 'integer', example: 2, description: 'Portfolio id (someone else’s portfolio answers 404, like a missing one)' });

/** A portfolio's value history and performance, from its transactions and the stored daily closes (docs/api.md). Owner only. */
@ApiTags('performance')
@ApiCookieAuth(SESSION_SECURITY)
@ApiErrors(401)
@Controller('api/portfolios')
@UseGuards(AuthenticatedGuard, PortfolioOwnerGuard)
export class PortfolioPerformanceController {
  constructor(private readonly performance: PortfolioPerformanceService) {}

  @Get(':id/history')
  @ApiOperation({ summary: 'Daily value history (value, cost basis, cash, net flows) over a range' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: PortfolioHistoryDto })
  @ApiErrors(400, 404)
  history(@OwnedPortfolio() p: Portfolio, @Query() q: PerformanceRangeQuery): Promise<PortfolioHistory> {
    return this.performance.history(p, q.range ?? '1m');
  }

  @Get(':id/performance')
  @ApiOperation({ summary: 'Time- and money-weighted returns, realised and unrealised P/L, dividends, fees and allocation' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: PortfolioPerformanceDto })
  @ApiErrors(400, 404)
  get(@OwnedPortfolio() p: Portfolio, @Query() q: PerformanceRangeQuery): Promise<PortfolioPerformance> {
    return this.performance.performance(p, q.range ?? '1m');
  }
}
