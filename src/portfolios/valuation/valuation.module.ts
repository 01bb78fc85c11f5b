import { Module } from '@nestjs/common';

/** Live portfolio valuation engine (provides PortfolioValuationSource). */
@Module({})
export class ValuationModule {}
