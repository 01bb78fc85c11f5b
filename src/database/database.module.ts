import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source.options';
import { DatabaseUrlProvider } from './database-url.provider';

@Global()
@Module({
  providers: [DatabaseUrlProvider],
  exports: [DatabaseUrlProvider],
})
class DatabaseUrlModule {}

/**
 * TypeORM on PostgreSQL, from the shared options object. Pending migrations
 * run at start-up (the schema is never synchronised from entities).
 */
@Module({
  imports: [
    DatabaseUrlModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabaseUrlModule],
      inject: [DatabaseUrlProvider, AppConfig],
      useFactory: async (db: DatabaseUrlProvider, config: AppConfig) => ({
        ...buildDataSourceOptions(await db.resolve(), config.DB_POOL_SIZE),
        migrationsRun: true,
        retryAttempts: 5,
        retryDelay: 1000,
      }),
    }),
  ],
  exports: [DatabaseUrlModule],
})
export class DatabaseModule {}
