import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InProcessBus } from './in-process.bus';
import { MessageBus } from './message-bus';
import { RedisBus } from './redis.bus';

/** MessageBus is Redis pub/sub when REDIS_URL is set, otherwise in-process. */
@Global()
@Module({
  providers: [
    {
      provide: MessageBus,
      inject: [AppConfig],
      useFactory: (config: AppConfig): MessageBus =>
        config.REDIS_URL ? new RedisBus(config.REDIS_URL, config.REDIS_PREFIX) : new InProcessBus(),
    },
  ],
  exports: [MessageBus],
})
export class BusModule {}
