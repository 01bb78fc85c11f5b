// Start-up: time from spawning the production build to the first GET /health = 200, on the
// embedded PostgreSQL (no DATABASE_URL): once cold (initdb + migrations), then warm, several times.
// Also `npm start` once (full runs only), which includes its prestart `nest build`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { freePort, httpStatus, nowMs, prioritise, sleep, stopChild, track } from '../lib/proc.mjs';
import { SESSION_SECRET } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';

function env(ctx, dataDir, port) {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('npm_') || ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS'].includes(k)) delete e[k];
  return { ...e, NODE_ENV: 'production', SESSION_SECRET, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
}

async function timeStart(ctx, command, args, dataDir, timeoutMs, cwd = ctx.root) {
  const port = await freePort();
  const t0 = nowMs();
  const child = spawn(command, args, { cwd, env: env(ctx, dataDir, port), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  track(child, { group: true });
  prioritise(child.pid);
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    while (nowMs() - t0 < timeoutMs) {
      if (exited) throw new Error(`${command} exited before serving: ${err.slice(-1000)}`);
      if ((await httpStatus(`http://127.0.0.1:${port}/health`, 1_000)) === 200) return round(nowMs() - t0);
      await sleep(20);
    }
    throw new Error(`${command} not serving after ${timeoutMs} ms: ${err.slice(-1000)}`);
  } finally {
    // SIGTERM the whole group we started (npm -> sh -> node), then wait: the app stops its embedded PostgreSQL.
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 20_000);
      await gone;
      clearTimeout(timer);
      await sleep(300);
    }
    await stopChild(child, 1);
  }
}

export async function runStartup(ctx, { runs, timeLeftMs = () => Infinity }) {
  const dataDir = join(ctx.tmpDir, 'startup-data');
  mkdirSync(dataDir, { recursive: true });
  const main = join(ctx.dist, 'main.js');
  const coldMs = await timeStart(ctx, process.execPath, [main], dataDir, 120_000);
  ctx.log(`startup: cold ${coldMs} ms`);
  const warm = [];
  for (let i = 0; i < runs; i++) {
    warm.push(await timeStart(ctx, process.execPath, [main], dataDir, 60_000));
    ctx.log(`startup: warm ${warm.at(-1)} ms`);
  }
  let npmStartMs = null;
  const projectDir = dirname(ctx.dist);
  if (timeLeftMs() < 90_000) ctx.log('startup: npm start skipped, not enough time left');
  else if (!ctx.quick && !process.env.BENCH_NO_NPM_START && basename(ctx.dist) === 'dist' && existsSync(join(projectDir, 'package.json'))) {
    npmStartMs = await timeStart(ctx, 'npm', ['start', '--silent'], dataDir, 120_000, projectDir);
    ctx.log(`startup: npm start (with prestart build) ${npmStartMs} ms`);
  }
  return { coldMs, warm: { runs: warm, medianMs: median(warm) }, npmStartMs };
}
