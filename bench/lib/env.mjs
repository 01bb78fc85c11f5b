// Bench environment: machine facts, Redis and PostgreSQL for the run (scratch database), the open-files limit.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem, release } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freePort, nowMs, openFileLimits, prioritise, procStat, sleep, track } from './proc.mjs';

const require = createRequire(import.meta.url);

export function machineInfo() {
  const c = cpus();
  return {
    cores: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    openFiles: openFileLimits(),
  };
}

/**
 * Re-executes this script with a higher open-files limit when the soft limit is below `needed`
 * (children inherit it). Above the hard limit only where that is allowed (root, CAP_SYS_RESOURCE, up to
 * fs.nr_open); otherwise up to the hard limit, and the parts that do not fit say so (scale scenario).
 * Returns true if the caller should exit (the re-executed run took over).
 */
export function ensureOpenFiles(needed) {
  const { soft, hard } = openFileLimits();
  if (soft >= needed || process.env.BENCH_ULIMIT_RAISED) return false;
  let target = Math.max(needed, 65536);
  if (target > hard && !canSetOpenFiles(target)) target = canSetOpenFiles(needed) ? needed : hard;
  if (target <= soft) {
    console.warn(`open-files limit ${soft} (hard ${hard}) is below the ${needed} this run needs, and cannot be raised here; large runs may fail`);
    return false;
  }
  const args = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('sh', ['-c', `ulimit -n ${target} && exec ${args}`], { stdio: 'inherit', env: { ...process.env, BENCH_ULIMIT_RAISED: '1' } });
  process.exitCode = r.status ?? 1;
  return true;
}

/** Whether `ulimit -n n` is allowed here (raising the hard limit needs root). */
function canSetOpenFiles(n) {
  return spawnSync('sh', ['-c', `ulimit -n ${Number(n)}`], { stdio: 'ignore' }).status === 0;
}

async function redisAnswers(url) {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_500, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** The Redis server's process id when it runs on this machine (its CPU is then reported). */
async function redisPid(url) {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_500, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    const info = await r.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return pid && procStat(pid) ? pid : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/**
 * The run's Redis: a private redis-server on a free loopback port when the binary is installed (isolated
 * from other work on the machine, and at the bench's priority), else BENCH_REDIS_URL / REDIS_URL /
 * 127.0.0.1:6379. BENCH_REDIS_URL always wins.
 */
export async function provideRedis() {
  const shared = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!process.env.BENCH_REDIS_URL && spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) {
    const port = await freePort();
    const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    prioritise(child.pid);
    const own = `redis://127.0.0.1:${port}`;
    const deadline = nowMs() + 10_000;
    while (nowMs() < deadline) {
      if (await redisAnswers(own)) {
        return {
          url: own,
          pid: child.pid,
          own: true,
          stop: async () => {
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await Promise.race([gone, sleep(3_000)]);
          },
        };
      }
      await sleep(100);
    }
    child.kill('SIGKILL');
  }
  if (await redisAnswers(shared)) return { url: shared, pid: await redisPid(shared), own: false, stop: async () => {} };
  throw new Error(`No Redis: could not start redis-server and nothing answers at ${shared}`);
}

/**
 * A scratch database for the run on BENCH_DATABASE_URL / DATABASE_URL / the machine's PostgreSQL,
 * or on an embedded PostgreSQL (the project's own helper) when none answers. Dropped at the end.
 */
export async function provideDatabase(ctx) {
  let admin = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let embedded = null;
  if (!(await pgAnswers(admin))) {
    const { startEmbeddedPostgres } = require(join(ctx.dist, 'database', 'embedded-postgres.js'));
    embedded = await startEmbeddedPostgres({ dataDir: join(ctx.tmpDir, 'bench-pg') });
    admin = embedded.url;
  }
  const name = `rmbench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await pgQuery(admin, `CREATE DATABASE ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    adminUrl: admin,
    name,
    url: u.toString(),
    embedded: !!embedded,
    async drop() {
      await pgQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await embedded?.stop();
    },
  };
}

async function pgAnswers(url) {
  try {
    await pgQuery(url, 'SELECT 1', [], 2_000);
    return true;
  } catch {
    return false;
  }
}

export async function pgQuery(url, text, params = [], timeoutMs = 30_000) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs * 4 });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** Runs the project's migrations (its own DataSource options from dist) on `url`. */
export async function migrate(ctx, url) {
  const { DataSource } = require('typeorm');
  const { buildDataSourceOptions } = require(join(ctx.dist, 'database', 'data-source.options.js'));
  const ds = new DataSource({ ...buildDataSourceOptions(url, 2), logging: ['error'] });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    await ds.destroy();
  }
}

/** Bench symbols BX000..BX499 (`prefix`, at least `digits` digits) as STOCK assets with a current price (so snapshots on subscribe work). */
export function benchSymbols(count, prefix = 'BX', digits = 3) {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(digits, '0')}`);
}

/** Inserts the symbols as assets (5,000 per statement); `source` is the assets.source of their stored price. */
export async function insertBenchAssets(url, symbols, { source = 'bench' } = {}) {
  for (let from = 0; from < symbols.length; from += 5_000) {
    const values = [];
    const params = [source];
    symbols.slice(from, from + 5_000).forEach((s, k) => {
      const p = params.length;
      values.push(`($${p + 1}, $${p + 2}, 'STOCK', 'USD', 'BENCH', $${p + 3}, $${p + 3}, now(), $1)`);
      params.push(s, `Bench asset ${s}`, (100 + ((from + k) % 50)).toFixed(2));
    });
    await pgQuery(
      url,
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, last_updated, source)
       VALUES ${values.join(',')} ON CONFLICT (symbol) DO NOTHING`,
      params,
    );
  }
}

/** Removes assets inserted by insertBenchAssets (fails if other rows refer to them). */
export async function deleteBenchAssets(url, symbols) {
  await pgQuery(url, 'DELETE FROM assets WHERE symbol = ANY($1::text[])', [symbols]);
}
