import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';

/**
 * Decides which PostgreSQL the app talks to: DATABASE_URL when set, otherwise
 * a real embedded server under DATA_DIR/postgres that lives as long as the app.
 */
@Injectable()
export class DatabaseUrlProvider implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedPostgresHandle;
  private url?: string;

  constructor(private readonly config: AppConfig) {}

  async resolve(): Promise<string> {
    if (this.url) return this.url;
    if (this.config.DATABASE_URL) {
      this.url = this.config.DATABASE_URL;
      return this.url;
    }
    this.embedded = await startEmbeddedPostgres({
      dataDir: join(this.config.DATA_DIR, 'postgres'),
      port: this.config.EMBEDDED_PG_PORT,
      logger: this.logger,
    });
    this.url = this.embedded.url;
    return this.url;
  }

  get isEmbedded(): boolean {
    return !!this.embedded;
  }

  async onApplicationShutdown(): Promise<void> {
    // Runs after TypeORM's own shutdown hook has closed the pool (modules are torn down in reverse order).
    if (this.embedded) {
      await this.embedded.stop();
      this.logger.log('Embedded PostgreSQL stopped');
    }
  }
}
