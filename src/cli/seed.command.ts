import { Command, CommandRunner } from 'nest-commander';
import { CatalogSeedService, DEMO_PORTFOLIO_NAME, DEMO_USERNAME } from '../assets/catalog/catalog-seed.service';
import { MigrationReport } from './cli-database.module';

/** `seed`: loads the catalog (adds missing symbols, never overwrites prices) and the demo user. */
@Command({ name: 'seed', description: 'Load the asset catalog and the demo user/portfolio (idempotent)' })
export class SeedCommand extends CommandRunner {
  constructor(
    private readonly seeder: CatalogSeedService,
    private readonly migrations: MigrationReport,
  ) {
    super();
  }

  async run(): Promise<void> {
    for (const name of this.migrations.applied) process.stdout.write(`applied migration ${name}\n`);
    const r = await this.seeder.seed({ onlyIfEmpty: false });
    const out = process.stdout;
    out.write(`catalog: ${r.catalogSize} symbols, ${r.assetsInserted.length} inserted, ${r.assetsExisting} already present\n`);
    if (r.assetsInserted.length > 0 && r.assetsInserted.length <= 20) out.write(`inserted: ${r.assetsInserted.join(' ')}\n`);
    switch (r.demo) {
      case 'created':
        out.write(`demo: created user "${DEMO_USERNAME}" with portfolio "${DEMO_PORTFOLIO_NAME}" (id ${r.demoPortfolioId}, ${r.demoPositions} positions)\n`);
        break;
      case 'exists':
        out.write(`demo: user "${DEMO_USERNAME}" already exists, left unchanged\n`);
        break;
      case 'disabled':
        out.write('demo: not created (SEED_DEMO is off; default off in production)\n');
        break;
      case 'no-password':
        out.write('demo: not created (set DEMO_PASSWORD; there is no default in production)\n');
        break;
      default:
        break;
    }
  }
}
