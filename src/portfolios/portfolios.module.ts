import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Portfolio } from './entities/portfolio.entity';
import { Position } from './entities/position.entity';
import { PortfolioOwnerGuard } from './guards/portfolio-owner.guard';
import { PortfolioAccessService } from './portfolio-access.service';
import { PortfoliosController } from './portfolios.controller';
import { PortfoliosService } from './portfolios.service';

@Module({
  imports: [TypeOrmModule.forFeature([Portfolio, Position])],
  controllers: [PortfoliosController],
  providers: [PortfolioAccessService, PortfoliosService, PortfolioOwnerGuard],
  exports: [PortfolioAccessService, PortfoliosService, PortfolioOwnerGuard, TypeOrmModule],
})
export class PortfoliosModule {}
