import { Global, Module } from '@nestjs/common';
import { AssetsModule } from '../assets/assets.module';
import { UsersModule } from '../auth/users.module';
import { SKIP_STARTUP_SEED } from '../assets/catalog/catalog-seed.service';
import { BusModule } from '../bus/bus.module';
import { ConfigModule } from '../config/config.module';
import { PortfoliosModule } from '../portfolios/portfolios.module';
import { UpdateAssetPricesCommand } from '../price-feed/commands/update-asset-prices.command';
import { PriceFeedCoreModule } from '../price-feed/price-feed-core.module';
import { CliDatabaseModule } from './cli-database.module';
import { CreateUserCommand } from './create-user.command';
import { MigrateCommand } from './migrate.command';
import { SeedCommand } from './seed.command';

/** CLI-only switches seen by the shared modules. */
@Global()
@Module({
  providers: [{ provide: SKIP_STARTUP_SEED, useValue: true }],
  exports: [SKIP_STARTUP_SEED],
})
class CliFlagsModule {}

/**
 * One-shot commands (`node dist/cli.main.js <command>`). A small module: no
 * HTTP server, no sockets, no scheduler. Add a command by importing the module
 * it needs and appending its provider to COMMANDS.
 */
const COMMANDS = [SeedCommand, MigrateCommand, UpdateAssetPricesCommand, CreateUserCommand];

@Module({
  imports: [CliFlagsModule, ConfigModule, CliDatabaseModule, BusModule, AssetsModule, PortfoliosModule, PriceFeedCoreModule, UsersModule],
  providers: [...COMMANDS],
})
export class CliModule {}
