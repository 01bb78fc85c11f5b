import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { checkDatabaseUrl } from './database-check';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';

/**
 * Decides which PostgreSQL the app talks to: DATABASE_URL when set (checked
 * with one connection first, so a wrong setting ends in a clear message), otherwise
 * the project's embedded server under DATA_DIR/postgres, shared with the other
 * processes of the project on this machine (see embedded-postgres.ts).
 */
@Injectable()
export class DatabaseUrlProvider implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedPostgresHandle;
  private url?: string;

  constructor(
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  async resolve(): Promise<string> {
    if (this.url) return this.url;
    if (this.config.DATABASE_URL) {
      await checkDatabaseUrl(this.config.DATABASE_URL);
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
    if (this.embedded) {
      // Nest does not order shutdown hooks between global modules: close TypeORM's pool first ourselves
      // (its own hook then sees an uninitialised data source), so no connection is cut by the server stopping.
      let ds: DataSource | undefined;
      try {
        ds = this.moduleRef.get(DataSource, { strict: false });
      } catch {
        ds = undefined; // no TypeORM in this context
      }
      if (ds?.isInitialized) {
        await ds.destroy().catch(() => undefined);
        // pg's Pool.end() does not wait for the sockets to close: give the Terminate messages a moment.
        await new Promise((r) => setTimeout(r, 100));
      }
      // Stops the server unless another process of the project still uses it.
      await this.embedded.stop();
    }
  }
}
