import { Module } from '@nestjs/common';

/** Price providers, the validate → write batch → publish pipeline, its scheduler and the latest-price cache. */
@Module({})
export class PriceFeedModule {}
