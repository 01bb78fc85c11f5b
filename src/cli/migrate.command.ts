import { Command, CommandRunner } from 'nest-commander';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseUrlProvider } from '../database/database-url.provider';
import { MigrationReport } from './cli-database.module';

/** `migrate`: applies pending migrations (done when the CLI connects) and prints what ran. */
@Command({ name: 'migrate', description: 'Apply pending database migrations (embedded PostgreSQL when DATABASE_URL is unset)' })
export class MigrateCommand extends CommandRunner {
  constructor(
    private readonly report: MigrationReport,
    private readonly urls: DatabaseUrlProvider,
    @InjectDataSource() private readonly db: DataSource,
  ) {
    super();
  }

  async run(): Promise<void> {
    const where = this.urls.isEmbedded ? 'embedded PostgreSQL' : 'DATABASE_URL';
    if (this.report.applied.length === 0) {
      process.stdout.write(`No pending migrations (${where}); ${this.report.known} known, all applied.\n`);
    } else {
      for (const name of this.report.applied) process.stdout.write(`applied ${name}\n`);
      process.stdout.write(`Applied ${this.report.applied.length} migration(s) to ${where}.\n`);
    }
    const pending = await this.db.showMigrations();
    if (pending) throw new Error('Migrations are still pending after the run');
  }
}
