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
        // The server was reached just before (DATABASE_URL checked, or the embedded one started): a failure
        // here is not a connection to wait for, and TypeORM's retry loop would only repeat its stack trace.
        retryAttempts: 0,
        toRetry: () => false,
      }),
    }),
  ],
  exports: [DatabaseUrlModule],
})
export class DatabaseModule {}
