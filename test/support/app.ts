import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.setup';
import { createTestDatabase } from './database';

export interface TestApp {
  app: NestExpressApplication;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  port: number;
  databaseUrl: string;
  /** Stops the app (keeps the database, so a restart sees the same data). */
  stop: () => Promise<void>;
  /** Stops the app and drops its database. */
  close: () => Promise<void>;
}

export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghijklmnop';
/** BUS_SECRET of every test app (so apps on one Redis trust each other); give it to processes that join them. */
export const TEST_BUS_SECRET = 'test-bus-secret-0123456789-abcdefghijklmnopqrstu';

/**
 * Starts the real API on a free loopback port against a fresh database
 * (or `databaseUrl` to reuse one, e.g. to test a restart). `env` overrides settings.
 */
export async function startTestApp(env: Record<string, string | undefined> = {}, opts: { databaseUrl?: string; port?: number } = {}): Promise<TestApp> {
  const db = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => undefined } : await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'rm-app-'));
  const base: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(opts.port ?? 0),
    SESSION_SECRET: TEST_SESSION_SECRET,
    BUS_SECRET: TEST_BUS_SECRET,
    PRICE_FEED_MODE: 'off',
    REDIS_URL: undefined,
    REDIS_TLS_CA_FILE: undefined,
    LOG_LEVEL: 'warn',
  };
  const merged = { ...base, ...env };
  for (const [k, v] of Object.entries(merged)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const app = await createApp();
  await app.listen(Number(merged.PORT), '127.0.0.1');
  const addr = app.getHttpServer().address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    databaseUrl: db.url,
    stop,
    close: async () => {
      await stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
