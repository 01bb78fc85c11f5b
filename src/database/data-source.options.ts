import { Logger } from '@nestjs/common';
import { AbstractLogger, type DataSourceOptions, type LoggerOptions, type LogLevel, type LogMessage, type MigrationInterface, type QueryRunner } from 'typeorm';
import { Asset } from '../assets/entities/asset.entity';
import { PriceHistory } from '../assets/entities/price-history.entity';
import { User } from '../auth/entities/user.entity';
import { Portfolio } from '../portfolios/entities/portfolio.entity';
import { Position } from '../portfolios/entities/position.entity';
import { Transaction } from '../portfolios/transactions/transaction.entity';
import { DbTimeouts, dbTimeouts, pgPoolBounds, QUERY_TIMEOUT_GRACE_MS } from './db-bounds';
import { isDbUnavailableError } from './db-errors';
import { InitialSchema1764100000000 } from './migrations/1764100000000-initial-schema';
import { AssetsHotUpdates1764200000000 } from './migrations/1764200000000-assets-hot-updates';
import { PriceHistoryNoAssetFk1764300000000 } from './migrations/1764300000000-price-history-no-asset-fk';
import { AssetsPriceSeq1764400000000 } from './migrations/1764400000000-assets-price-seq';
import { Transactions1764500000000 } from './migrations/1764500000000-transactions';
import { PortfolioIntraday1764600000000 } from './migrations/1764600000000-portfolio-intraday';
import { PortfolioDailyValues1764700000000 } from './migrations/1764700000000-portfolio-daily-values';
import { PriceHistoryNaturalKey1764800000000 } from './migrations/1764800000000-price-history-natural-key';

const ENTITIES = [User, Asset, PriceHistory, Portfolio, Position, Transaction];
export const MIGRATIONS = [
  InitialSchema1764100000000,
  AssetsHotUpdates1764200000000,
  PriceHistoryNoAssetFk1764300000000,
  AssetsPriceSeq1764400000000,
  Transactions1764500000000,
  PortfolioIntraday1764600000000,
  PortfolioDailyValues1764700000000,
  PriceHistoryNaturalKey1764800000000,
];

/**
 * The one DataSource options object: used by Nest (DatabaseModule), by the
 * TypeORM CLI (ormconfig.ts) and by the one-shot commands. Schema changes go
 * through migrations only; `synchronize` is never on.
 *
 * Every wait on the pool is bounded (see db-bounds.ts): statement_timeout,
 * pg's client-side query_timeout, the connect / pool-wait timeout,
 * idle_in_transaction_session_timeout and TCP keepalive. Migrations are not cut
 * by the statement timeout: each runs under DB_MIGRATION_TIMEOUT_MS instead.
 * `timeouts` default to the validated environment (DB_* settings).
 */
export function buildDataSourceOptions(url: string, poolSize = 10, timeouts: DbTimeouts = dbTimeouts()): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS.map((m) => withMigrationTimeout(m, timeouts.migrationTimeoutMs)),
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: LOGGING,
    logger: new OutageQuietLogger(LOGGING),
    extra: {
      max: poolSize,
      application_name: 'realtime-markets',
      ...pgPoolBounds(timeouts),
    },
  };
}

const LOGGING: LoggerOptions = ['error', 'warn', 'migration'];

/**
 * TypeORM's lines through the app's logger (context `TypeORM`: text, or JSON lines like every
 * other line), one line per event, without query parameters (they can hold password hashes and
 * session ids); minus one line per failed query while the database is unavailable (timeouts,
 * lost connections): the callers report those, once per outage rather than once per query
 * (REST 503, SERVICE_UNAVAILABLE, the feed's run), so an outage does not flood the log.
 */
class OutageQuietLogger extends AbstractLogger {
  private readonly logger = new Logger('TypeORM');

  override logQueryError(error: string | Error, query: string, parameters?: unknown[], queryRunner?: QueryRunner): void {
    if (isDbUnavailableError(error)) return;
    super.logQueryError(error as string, query, parameters, queryRunner);
  }

  protected writeLog(level: LogLevel, logMessage: LogMessage | string | number | (LogMessage | string | number)[]): void {
    const messages = this.prepareLogMessages(logMessage, { appendParameterAsComment: false, highlightSql: false });
    const text = messages.map((m) => (m.prefix ? `${m.prefix} ${String(m.message)}` : String(m.message))).join(' ');
    const type = messages[0]?.type ?? level;
    if (type === 'error' || type === 'query-error') this.logger.error(text);
    else if (type === 'warn' || type === 'query-slow') this.logger.warn(text);
    else this.logger.log(text);
  }
}

type MigrationClass = new () => MigrationInterface;

/**
 * The migration class, running under `ms` (0: no limit) instead of the pool's statement
 * timeouts: server side for its own transaction (or, outside one, its session until it
 * ends), client side for its connection while it runs. Same name, so TypeORM's records match.
 */
export function withMigrationTimeout(M: MigrationClass, ms: number): MigrationClass {
  const Bounded = class extends M {
    override async up(runner: QueryRunner): Promise<void> {
      await underMigrationTimeout(runner, ms, () => super.up(runner));
    }
    override async down(runner: QueryRunner): Promise<void> {
      await underMigrationTimeout(runner, ms, () => super.down(runner));
    }
  };
  Object.defineProperty(Bounded, 'name', { value: M.name });
  return Bounded;
}

async function underMigrationTimeout(runner: QueryRunner, ms: number, fn: () => Promise<unknown>): Promise<void> {
  const local = runner.isTransactionActive;
  await runner.query(`SELECT set_config('statement_timeout', $1, $2)`, [String(ms), local]);
  // pg reads the read timeout from the connection's parameters for every query.
  const params = (runner as unknown as { databaseConnection?: { connectionParameters?: { query_timeout?: number | false } } }).databaseConnection
    ?.connectionParameters;
  const previous = params?.query_timeout;
  if (params) params.query_timeout = ms > 0 ? ms + QUERY_TIMEOUT_GRACE_MS : false;
  try {
    await fn();
  } finally {
    if (params) params.query_timeout = previous;
    // Outside a transaction the setting was the session's: back to the connection's default.
    if (!local) await runner.query('RESET statement_timeout').catch(() => undefined);
  }
}
