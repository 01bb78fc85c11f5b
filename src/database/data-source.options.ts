import type { DataSourceOptions } from 'typeorm';
import { Asset } from '../assets/entities/asset.entity';
import { PriceHistory } from '../assets/entities/price-history.entity';
import { User } from '../auth/entities/user.entity';
import { Portfolio } from '../portfolios/entities/portfolio.entity';
import { Position } from '../portfolios/entities/position.entity';
import { InitialSchema1764100000000 } from './migrations/1764100000000-initial-schema';
import { AssetsHotUpdates1764200000000 } from './migrations/1764200000000-assets-hot-updates';
import { PriceHistoryNoAssetFk1764300000000 } from './migrations/1764300000000-price-history-no-asset-fk';

export const ENTITIES = [User, Asset, PriceHistory, Portfolio, Position];
export const MIGRATIONS = [InitialSchema1764100000000, AssetsHotUpdates1764200000000, PriceHistoryNoAssetFk1764300000000];

/**
 * The one DataSource options object: used by Nest (DatabaseModule), by the
 * TypeORM CLI (ormconfig.ts) and by the one-shot commands. Schema changes go
 * through migrations only; `synchronize` is never on.
 */
export function buildDataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error', 'warn', 'migration'],
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 10_000,
      application_name: 'realtime-markets',
    },
  };
}
