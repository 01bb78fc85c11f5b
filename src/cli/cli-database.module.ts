import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from '../database/data-source.options';
import { DatabaseUrlProvider } from '../database/database-url.provider';

/** What the CLI's data source did to the schema when it connected (the `migrate` command prints it). */
export class MigrationReport {
  /** Names of the migrations this process applied. */
  applied: string[] = [];
  /** Migrations the code knows. */
  known = 0;
}

// One CLI process opens one data source, so one report object is enough.
const report = new MigrationReport();

@Global()
@Module({
  providers: [DatabaseUrlProvider, { provide: MigrationReport, useValue: report }],
  exports: [DatabaseUrlProvider, MigrationReport],
})
class CliDatabaseUrlModule {}

/**
 * The CLI's database: the same options object as the API (DATABASE_URL or
 * the embedded server under DATA_DIR), a small pool, and pending migrations
 * applied when it connects — recorded in MigrationReport instead of only logged.
 * Feature modules must not import DatabaseModule themselves (that would open a
 * second default data source); the root module (AppModule, CliModule) provides it.
 */
@Module({
  imports: [
    CliDatabaseUrlModule,
    TypeOrmModule.forRootAsync({
      imports: [CliDatabaseUrlModule],
      inject: [DatabaseUrlProvider, AppConfig],
      useFactory: async (db: DatabaseUrlProvider, config: AppConfig) => ({
        ...buildDataSourceOptions(await db.resolve(), Math.min(config.DB_POOL_SIZE, 4)),
        migrationsRun: false,
        // The server was reached just before (DATABASE_URL checked, or the embedded one started): a failure
        // here is not a connection to wait for, and TypeORM's retry loop would only repeat its stack trace.
        retryAttempts: 0,
        toRetry: () => false,
      }),
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const ds = await new DataSource(options!).initialize();
        try {
          const ran = await ds.runMigrations({ transaction: 'each' });
          report.applied = ran.map((m) => m.name);
          report.known = ds.migrations.length;
        } catch (err) {
          await ds.destroy().catch(() => undefined);
          throw err;
        }
        return ds;
      },
    }),
  ],
  exports: [CliDatabaseUrlModule],
})
export class CliDatabaseModule {}
