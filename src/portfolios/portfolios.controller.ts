import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { AuthenticatedGuard } from '../auth/guards/authenticated.guard';
import type { PortfolioList, PositionList } from '../common/api-types';
import { ApiErrors, SESSION_SECURITY } from '../common/openapi';
import { CreatePortfolioDto, CreatePositionDto, UpdatePortfolioDto, UpdatePositionDto } from './dto/portfolios.dto';
import { PortfolioDto, PortfolioListDto, PositionDto, PositionListDto } from './dto/portfolios.responses.dto';
import { Portfolio } from './entities/portfolio.entity';
import { OwnedPortfolio, PortfolioOwnerGuard } from './guards/portfolio-owner.guard';
import { PortfolioJson, PositionJson } from './portfolio.json';
import { PortfoliosService } from './portfolios.service';

/** Position ids in the path: anything but a plausible id is simply "not found". */
function positionId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647 || Number(raw) === 0) throw new NotFoundException(`Position ${raw.slice(0, 20)} not found`);
  return Number(raw);
}

/** The `:id` path parameter, read by PortfolioOwnerGuard (so Swagger cannot see it on the handler). */
const PortfolioIdParam = () =>
  ApiParam({ name: 'id', type: 'integer', example: 2, description: 'Portfolio id (someone else’s portfolio answers 404, like a missing one)' });
const PositionIdParam = () => ApiParam({ name: 'positionId', type: 'integer', example: 5 });

/** The caller's own portfolios. Someone else's portfolio answers 404, exactly like a missing one. */
@ApiTags('portfolios')
@ApiCookieAuth(SESSION_SECURITY)
@ApiErrors(401)
@Controller('api/portfolios')
@UseGuards(AuthenticatedGuard)
export class PortfoliosController {
  constructor(private readonly portfolios: PortfoliosService) {}

  @Get()
  @ApiOperation({ summary: 'Your portfolios, with their valuation (no positions)' })
  @ApiOkResponse({ type: PortfolioListDto })
  list(@CurrentUser() user: AuthUser): Promise<PortfolioList> {
    return this.portfolios.list(user.id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a portfolio' })
  @ApiCreatedResponse({ type: PortfolioDto })
  @ApiErrors(400, [409, 'You already have a portfolio with this name'])
  create(@CurrentUser() user: AuthUser, @Body() dto: CreatePortfolioDto): Promise<PortfolioJson> {
    return this.portfolios.create(user.id, dto);
  }

  @Get(':id')
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'One portfolio with its valuation and positions' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: PortfolioDto })
  @ApiErrors(404)
  detail(@OwnedPortfolio() p: Portfolio): Promise<PortfolioJson> {
    return this.portfolios.detail(p);
  }

  @Patch(':id')
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'Rename a portfolio, or change its description or base currency' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: PortfolioDto })
  @ApiErrors(400, 404, [409, 'You already have a portfolio with this name'])
  update(@OwnedPortfolio() p: Portfolio, @Body() dto: UpdatePortfolioDto): Promise<PortfolioJson> {
    return this.portfolios.update(p, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'Delete a portfolio and its positions' })
  @PortfolioIdParam()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(404)
  remove(@OwnedPortfolio() p: Portfolio): Promise<void> {
    return this.portfolios.remove(p);
  }

  @Get(':id/positions')
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'The positions of a portfolio, with their valuation' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: PositionListDto })
  @ApiErrors(404)
  positions(@OwnedPortfolio() p: Portfolio): Promise<PositionList> {
    return this.portfolios.positions(p);
  }

  @Post(':id/positions')
  @HttpCode(201)
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'Add a position', description: 'One position per symbol and portfolio: to buy more, PATCH its quantity and average cost.' })
  @PortfolioIdParam()
  @ApiCreatedResponse({ type: PositionDto })
  @ApiErrors([400, 'Invalid body, or unknown symbol'], 404, [409, 'The portfolio already holds this symbol'])
  addPosition(@OwnedPortfolio() p: Portfolio, @Body() dto: CreatePositionDto): Promise<PositionJson> {
    return this.portfolios.addPosition(p, dto);
  }

  @Patch(':id/positions/:positionId')
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'Change the quantity and/or average cost of a position' })
  @PortfolioIdParam()
  @PositionIdParam()
  @ApiOkResponse({ type: PositionDto })
  @ApiErrors(400, 404)
  updatePosition(@OwnedPortfolio() p: Portfolio, @Param('positionId') id: string, @Body() dto: UpdatePositionDto): Promise<PositionJson> {
    return this.portfolios.updatePosition(p, positionId(id), dto);
  }

  @Delete(':id/positions/:positionId')
  @HttpCode(204)
  @UseGuards(PortfolioOwnerGuard)
  @ApiOperation({ summary: 'Close (delete) a position' })
  @PortfolioIdParam()
  @PositionIdParam()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(404)
  removePosition(@OwnedPortfolio() p: Portfolio, @Param('positionId') id: string): Promise<void> {
    return this.portfolios.removePosition(p, positionId(id));
  }
}
