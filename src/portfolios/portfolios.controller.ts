import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { AuthenticatedGuard } from '../auth/guards/authenticated.guard';
import { CreatePortfolioDto, CreatePositionDto, UpdatePortfolioDto, UpdatePositionDto } from './dto/portfolios.dto';
import { Portfolio } from './entities/portfolio.entity';
import { OwnedPortfolio, PortfolioOwnerGuard } from './guards/portfolio-owner.guard';
import { PortfolioJson, PositionJson } from './portfolio.json';
import { PortfoliosService } from './portfolios.service';

/** Position ids in the path: anything but a plausible id is simply "not found". */
function positionId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647 || Number(raw) === 0) throw new NotFoundException(`Position ${raw.slice(0, 20)} not found`);
  return Number(raw);
}

/** The caller's own portfolios. Someone else's portfolio answers 404, exactly like a missing one. */
@Controller('api/portfolios')
@UseGuards(AuthenticatedGuard)
export class PortfoliosController {
  constructor(private readonly portfolios: PortfoliosService) {}

  @Get()
  list(@CurrentUser() user: AuthUser) {
    return this.portfolios.list(user.id);
  }

  @Post()
  @HttpCode(201)
  create(@CurrentUser() user: AuthUser, @Body() dto: CreatePortfolioDto): Promise<PortfolioJson> {
    return this.portfolios.create(user.id, dto);
  }

  @Get(':id')
  @UseGuards(PortfolioOwnerGuard)
  detail(@OwnedPortfolio() p: Portfolio): Promise<PortfolioJson> {
    return this.portfolios.detail(p);
  }

  @Patch(':id')
  @UseGuards(PortfolioOwnerGuard)
  update(@OwnedPortfolio() p: Portfolio, @Body() dto: UpdatePortfolioDto): Promise<PortfolioJson> {
    return this.portfolios.update(p, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @UseGuards(PortfolioOwnerGuard)
  remove(@OwnedPortfolio() p: Portfolio): Promise<void> {
    return this.portfolios.remove(p);
  }

  @Get(':id/positions')
  @UseGuards(PortfolioOwnerGuard)
  positions(@OwnedPortfolio() p: Portfolio) {
    return this.portfolios.positions(p);
  }

  @Post(':id/positions')
  @HttpCode(201)
  @UseGuards(PortfolioOwnerGuard)
  addPosition(@OwnedPortfolio() p: Portfolio, @Body() dto: CreatePositionDto): Promise<PositionJson> {
    return this.portfolios.addPosition(p, dto);
  }

  @Patch(':id/positions/:positionId')
  @UseGuards(PortfolioOwnerGuard)
  updatePosition(@OwnedPortfolio() p: Portfolio, @Param('positionId') id: string, @Body() dto: UpdatePositionDto): Promise<PositionJson> {
    return this.portfolios.updatePosition(p, positionId(id), dto);
  }

  @Delete(':id/positions/:positionId')
  @HttpCode(204)
  @UseGuards(PortfolioOwnerGuard)
  removePosition(@OwnedPortfolio() p: Portfolio, @Param('positionId') id: string): Promise<void> {
    return this.portfolios.removePosition(p, positionId(id));
  }
}
