import { PortfolioPerformanceController } from './performance/portfolio-performance.controller';
import { PortfolioPerformanceService } from './performance/portfolio-performance.service';
import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { text } from 'express';
import { AssetsModule } from '../assets/assets.module';
import { DailyValuesService } from './daily-values/daily-values.service';
import { DailyValuesStore } from './daily-values/daily-values.store';
import { Portfolio } from './entities/portfolio.entity';
import { Position } from './entities/position.entity';
import { PortfolioOwnerGuard } from './guards/portfolio-owner.guard';
import { IntradayModule } from './intraday/intraday.module';
import { PortfolioAccessService } from './portfolio-access.service';
import { PortfoliosController } from './portfolios.controller';
import { PortfoliosService } from './portfolios.service';
import { PortfolioLedgerService } from './transactions/portfolio-ledger.service';
import { Transaction } from './transactions/transaction.entity';
import { MAX_IMPORT_BYTES } from './transactions/transactions.csv';
import { TransactionsController } from './transactions/transactions.controller';
import { TransactionsService } from './transactions/transactions.service';

@Module({
  imports: [TypeOrmModule.forFeature([Portfolio, Position, Transaction]), AssetsModule, IntradayModule],
  controllers: [PortfoliosController, TransactionsController, PortfolioPerformanceController],
  providers: [
    PortfolioAccessService,
    PortfoliosService,
    PortfolioOwnerGuard,
    PortfolioLedgerService,
    TransactionsService,
    PortfolioPerformanceService,
    DailyValuesStore,
    DailyValuesService,
  ],
  exports: [PortfolioAccessService, PortfoliosService, PortfolioOwnerGuard, TypeOrmModule, DailyValuesService],
})
export class PortfoliosModule implements NestModule {
  /** The CSV import's body: text/csv up to 1 MB, on that route only (JSON bodies stay at 100 kB). */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(text({ type: ['text/csv', 'application/csv', 'text/plain'], limit: MAX_IMPORT_BYTES }))
      .forRoutes({ path: 'api/portfolios/:id/transactions/import', method: RequestMethod.POST });
  }
}
