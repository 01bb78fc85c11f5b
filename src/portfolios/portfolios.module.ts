import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Portfolio } from './entities/portfolio.entity';
import { Position } from './entities/position.entity';
import { PortfolioAccessService } from './portfolio-access.service';

@Module({
  imports: [TypeOrmModule.forFeature([Portfolio, Position])],
  providers: [PortfolioAccessService],
  exports: [PortfolioAccessService, TypeOrmModule],
})
export class PortfoliosModule {}
