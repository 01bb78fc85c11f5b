// Driver side of the ingest and valuation scenarios: a scratch database of their own (so the fan-out
// servers never load these rows), migrated by the project, and the engine worker process.
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summariseProfile } from '../lib/cpuprofile.mjs';
import { migrate, pgQuery } from '../lib/env.mjs';
import { prioritise, rpcChild, sleep, track } from '../lib/proc.mjs';
import { SESSION_SECRET } from '../lib/servers.mjs';

const WORKER = fileURLToPath(new URL('./engine-worker.mjs', import.meta.url));

export async function scratchDatabase(ctx, label) {
  const name = `${ctx.dbName}_${label}`;
  await pgQuery(ctx.adminUrl, `CREATE DATABASE ${name}`);
  const u = new URL(ctx.adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(ctx, url);
  return { url, drop: () => pgQuery(ctx.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}) };
}

export function startEngineWorker(ctx, databaseUrl) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || ['REDIS_URL', 'NODE_OPTIONS'].includes(k)) delete env[k];
  const child = fork(WORKER, [], {
    cwd: ctx.root,
    env: {
      ...env,
      BENCH_PROFILE_DIR: ctx.profileEngine ? ctx.logDir : '',
      BENCH_DIST_DIR: ctx.dist,
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'production',
      SESSION_SECRET,
      LOG_LEVEL: 'warn',
      PRICE_FEED_MODE: 'off',
      DATA_DIR: ctx.tmpDir,
      SEED_DEMO: 'false',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  prioritise(child.pid);
  const rpc = rpcChild(child, 'engine-worker');
  return {
    ...rpc,
    async close() {
      try {
        child.send({ cmd: 'exit' });
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Prints the hottest functions of the engine worker's profile (BENCH_PROFILE=ingest,valuation). */
export function reportProfile(ctx, name) {
  const file = join(ctx.logDir, `${name}.cpuprofile`);
  if (!ctx.profileEngine || !existsSync(file)) return;
  const prof = summariseProfile(JSON.parse(readFileSync(file, 'utf8')), { root: ctx.dist.replace(/dist$/, '') });
  ctx.log(`${name}: CPU profile ${file}; busy shares ${JSON.stringify(prof.share)}`);
  for (const t of prof.top.slice(0, 15)) ctx.log(`   ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
}
