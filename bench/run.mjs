#!/usr/bin/env node
// `npm run bench`: builds (via the npm script), then measures on this machine, in one go:
// fan-out (raw WebSocket and Socket.IO, project vs minimal reference servers), memory per idle
// connection, slow consumers, ingest, valuation, opt-in batched frames and start-up time.
// Results: bench/results/<date>.json and markdown tables on stdout. BENCH_QUICK=1: ~2 minute smoke run.
// See docs/performance.md.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSymbols, ensureOpenFiles, insertBenchAssets, machineInfo, migrate, provideDatabase, provideRedis } from './lib/env.mjs';
import { LoadGenerator, Source, runStep, waitForMachineIdle } from './lib/fanout.mjs';
import { BENCH_PRIORITY, nowMs, prioritise, prioritiseSession, procStat, sleep, stopAllStarted } from './lib/proc.mjs';
import { TARGETS } from './lib/servers.mjs';
import { median, ratio, round, stepPasses, sweepSaturation } from './lib/stats.mjs';
import { summariseProfile } from './lib/cpuprofile.mjs';
import { renderReport, evaluateTargets } from './lib/report.mjs';
import { runIngest } from './scenarios/ingest.mjs';
import { runValuation } from './scenarios/valuation.mjs';
import { runStartup } from './scenarios/startup.mjs';
import { runSlowConsumers } from './scenarios/slow-consumers.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const IDLE_WAIT_MS = Number(process.env.BENCH_IDLE_WAIT_MS ?? 3_000);
/** BENCH_PROFILE=ws-project,sio-project: run those servers under --cpu-prof and print their hottest functions. */
/** BENCH_TARGETS=ws-reference,ws-project: run only those fan-out servers. */
const TARGET_FILTER = process.env.BENCH_TARGETS ? new Set(process.env.BENCH_TARGETS.split(',')) : null;
const PROFILE = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter(Boolean));
const HARD_LIMIT_MS = Number(process.env.BENCH_HARD_LIMIT_MS ?? (QUICK ? 240_000 : 570_000));

/** Everything the run does, in one place (QUICK shrinks it). */
const PLAN = QUICK
  ? {
      symbols: 500,
      perClient: 5,
      workers: 2,
      warmupMs: 500,
      windowMs: 1_500,
      repeats: 1,
      maxSteps: 4,
      fanout: [
        { target: 'ws-reference', clients: 1_000 },
        { target: 'ws-project', clients: 1_000, vs: 'ws-reference' },
        { target: 'sio-reference', clients: 1_000 },
        { target: 'sio-project', clients: 1_000, vs: 'sio-reference' },
      ],
      batched: { clients: 1_000, vs: 'ws-reference' },
      slow: { clients: 100, seconds: 9, targets: ['ws-project'] },
      ingestRuns: 3,
      valuation: { portfolios: 2_000, positions: 10, runs: 3 },
      startupRuns: 1,
    }
  : {
      symbols: 500,
      perClient: 5,
      workers: 2,
      warmupMs: 750,
      windowMs: 2_500,
      repeats: 3,
      maxSteps: 6,
      fanout: [
        { target: 'ws-reference', clients: 1_000 },
        { target: 'ws-project', clients: 1_000, vs: 'ws-reference' },
        { target: 'ws-reference', clients: 5_000 },
        { target: 'ws-project', clients: 5_000, vs: 'ws-reference' },
        { target: 'sio-reference', clients: 5_000 },
        { target: 'sio-project', clients: 5_000, vs: 'sio-reference' },
        { target: 'ws-reference', clients: 10_000, memoryOnly: true },
        { target: 'ws-project', clients: 10_000, memoryOnly: true, vs: 'ws-reference' },
      ],
      batched: { clients: 5_000, vs: 'ws-reference' },
      slow: { clients: 100, seconds: 30, targets: ['ws-project', 'ws-reference'] },
      ingestRuns: 5,
      valuation: { portfolios: 10_000, positions: 10, runs: 5 },
      startupRuns: 3,
    };

/** Rates to start sweeping at when nothing was measured yet in this run (ticks/s; deliveries = rate x subscribers per symbol). */
const PRIOR_DELIVERIES = { ws: 100_000, sio: 60_000 };

function log(...args) {
  const t = ((nowMs() - T0) / 1000).toFixed(1).padStart(6);
  console.log(`[${t}s]`, ...args);
}
const T0 = nowMs();
const timeLeftMs = () => HARD_LIMIT_MS - (nowMs() - T0);

async function main() {
  // The busiest process (the server at C=10,000) holds one descriptor per client plus its own.
  if (ensureOpenFiles(12_000)) return;
  prioritise(process.pid);
  const sessionPriority = prioritiseSession();
  const dist = resolve(ROOT, process.env.BENCH_DIST ?? 'dist');
  if (!existsSync(join(dist, 'main.js'))) throw new Error(`${dist}/main.js not found: run \`nest build\` first (npm run bench does)`);
  const tmpDir = mkdtempSync(join(tmpdir(), 'rm-bench-'));
  chmodSync(tmpDir, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
  const logDir = join(tmpDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const ctx = { root: ROOT, dist, tmpDir, logDir, prefix: `rmbench${process.pid}:`, quick: QUICK, plan: PLAN, log, profileEngine: PROFILE.has('ingest') || PROFILE.has('valuation') };
  const results = {
    date: new Date().toISOString(),
    quick: QUICK,
    priority: { nice: BENCH_PRIORITY, session: sessionPriority },
    machine: machineInfo(),
    plan: { ...PLAN },
    fanout: [],
    batched: null,
    slowConsumers: [],
    ingest: null,
    valuation: null,
    startup: null,
    profiles: [],
    errors: [],
  };
  const cleanups = [];
  const hardStop = setTimeout(() => {
    console.error(`bench: hard time limit (${HARD_LIMIT_MS} ms) reached; stopping`);
    results.errors.push('hard time limit reached');
    finish(results, ctx).finally(() => process.exit(2));
  }, HARD_LIMIT_MS);
  hardStop.unref();
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      results.errors.push(`interrupted (${sig})`);
      finish(results, ctx).finally(() => process.exit(130));
    });
  }
  ctx.cleanups = cleanups;
  try {
    const redis = await provideRedis();
    cleanups.push(() => redis.stop());
    ctx.redisUrl = redis.url;
    ctx.redisPid = redis.pid;
    results.machine.redis = redis.own ? 'private redis-server' : redis.url;
    const db = await provideDatabase(ctx);
    cleanups.push(() => db.drop());
    ctx.databaseUrl = db.url;
    ctx.adminUrl = db.adminUrl;
    ctx.dbName = db.name;
    results.machine.postgres = db.embedded ? 'embedded' : 'machine';
    log(`scratch database ready; Redis ${ctx.redisUrl}; logs in ${logDir}`);
    await migrate(ctx, db.url);
    ctx.symbols = benchSymbols(PLAN.symbols);
    await insertBenchAssets(db.url, ctx.symbols);

    const want = (name) => !ONLY || ONLY.has(name);
    if (want('fanout') || want('batched') || want('slow')) {
      const source = await Source.start({ redisUrl: ctx.redisUrl, prefix: ctx.prefix, symbols: ctx.symbols });
      cleanups.push(() => source.close());
      const gen = new LoadGenerator(PLAN.workers);
      cleanups.push(() => gen.close());
      ctx.source = source;
      ctx.gen = gen;
      if (want('fanout')) {
        for (const item of PLAN.fanout.filter((x) => !TARGET_FILTER || TARGET_FILTER.has(x.target))) {
          const r = await guarded(results, `fanout ${item.target} C=${item.clients}`, () => fanoutCase(ctx, item, results));
          if (r) results.fanout.push(r);
        }
      }
      if (want('batched')) results.batched = await guarded(results, 'batched', () => fanoutCase(ctx, { target: 'ws-project-batched', clients: PLAN.batched.clients, vs: PLAN.batched.vs }, results));
    }
    if (want('ingest')) results.ingest = await guarded(results, 'ingest', () => runIngest(ctx, { runs: PLAN.ingestRuns }));
    if (want('valuation')) results.valuation = await guarded(results, 'valuation', () => runValuation(ctx, PLAN.valuation));
    if (want('startup')) results.startup = await guarded(results, 'startup', () => runStartup(ctx, { runs: PLAN.startupRuns, timeLeftMs }));
    if (want('slow') && ctx.gen) {
      for (const target of PLAN.slow.targets) {
        if (timeLeftMs() < 45_000) {
          results.errors.push(`slow consumers ${target}: skipped, not enough time left`);
          continue;
        }
        const r = await guarded(results, `slow consumers ${target}`, () => runSlowConsumers(ctx, { target, ...PLAN.slow }, results));
        if (r) results.slowConsumers.push(r);
      }
    }
  } finally {
    clearTimeout(hardStop);
    await finish(results, ctx);
  }
}

let finished = false;
async function finish(results, ctx) {
  if (finished) return;
  finished = true;
  results.durationSec = round((nowMs() - T0) / 1000, 1);
  results.targets = evaluateTargets(results);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = results.date.replace(/[:]/g, '-').replace(/\..+$/, '');
  const file = join(dir, `${stamp}${QUICK ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log('\n' + renderReport(results));
  console.log(`\nResults: ${file}`);
  await stopAllStarted(); // servers, workers, start-up runs still going after an abort
  for (const c of (ctx.cleanups ?? []).reverse()) await Promise.resolve().then(c).catch((e) => console.error('cleanup:', e.message));
  if (results.errors.length === 0 && !process.env.BENCH_KEEP_TMP && PROFILE.size === 0) rmSync(ctx.tmpDir, { recursive: true, force: true });
  else console.log(`Logs kept in ${ctx.logDir}`);
}

async function guarded(results, label, fn) {
  if (finished) return null; // aborted (time limit or signal): start nothing new
  log(`== ${label}`);
  try {
    return await fn();
  } catch (err) {
    if (finished) return null;
    log(`!! ${label} failed: ${err.stack ?? err}`);
    results.errors.push(`${label}: ${String(err.message ?? err).split('\n')[0]}`);
    return null;
  }
}

/** One fan-out case: fresh server, C connections (setup rate, memory per idle connection), then the saturation sweep. */
async function fanoutCase(ctx, item, results) {
  const spec = TARGETS[item.target];
  const { gen, source } = ctx;
  const idle = await waitForMachineIdle(IDLE_WAIT_MS);
  if (idle !== null && idle >= 15) log(`machine still ${idle}% busy with other work after ${IDLE_WAIT_MS} ms; measuring anyway`);
  const profiling = PROFILE.has(item.target) ? join(ctx.logDir, `prof-${item.target}-${item.clients}.cpuprofile`) : null;
  const server = await spec.start(ctx);
  try {
    log(`${item.target}: started in ${round(server.startMs)} ms (pid ${server.pid})`);
    await primeSymbols(ctx);
    await sleep(500);
    const m0 = await server.memory();
    const setup = await gen.connect({ port: server.port, path: spec.path, transport: spec.transport, clients: item.clients, perClient: PLAN.perClient, symbols: ctx.symbols });
    log(`${item.target}: ${setup.ready}/${item.clients} connected+subscribed in ${setup.elapsedMs} ms (${setup.setupRate}/s), failed ${setup.failed}`, setup.failed ? JSON.stringify(setup.failures) : '');
    await sleep(1_000);
    const m1 = await server.memory();
    const memory = {
      rssBeforeMB: round(m0.rss / 2 ** 20, 1),
      rssAfterMB: round(m1.rss / 2 ** 20, 1),
      rssPerConnKB: setup.ready ? round((m1.rss - m0.rss) / setup.ready / 1024, 2) : null,
      heapPerConnKB: setup.ready ? round((m1.heapUsed - m0.heapUsed) / setup.ready / 1024, 2) : null,
    };
    log(`${item.target}: memory per idle connection ${memory.rssPerConnKB} KB RSS, ${memory.heapPerConnKB} KB heap`);
    const out = { target: item.target, transport: spec.transport, clients: item.clients, vs: item.vs ?? null, startMs: round(server.startMs), setup, memory };
    if (setup.ready < item.clients * 0.98) throw new Error(`only ${setup.ready}/${item.clients} clients connected: ${JSON.stringify(setup.failures)}`);
    if (item.memoryOnly && !process.env.BENCH_SWEEP_ALL) return out;
    const subsPerSymbol = (item.clients * PLAN.perClient) / ctx.symbols.length;
    const earlier = [...results.fanout].reverse().find((r) => r.best && r.transport === spec.transport && r.clients === item.clients);
    const anyEarlier = [...results.fanout].reverse().find((r) => r.best && r.transport === spec.transport);
    const reference = item.vs ? [...results.fanout].reverse().find((r) => r.best && r.target === item.vs && r.clients === item.clients) : null;
    const startDeliveries = item.target.endsWith('-batched') && reference
      ? reference.best.deliveriesPerSec * 1.2 // batching should go past the reference
      : earlier
      ? earlier.best.deliveriesPerSec * 0.8
      : anyEarlier
        ? anyEarlier.best.deliveriesPerSec * 0.6
        : PRIOR_DELIVERIES[spec.transport] * 0.5;
    const start = Math.max(20, Math.round(startDeliveries / subsPerSymbol));
    const step = (rate) =>
      runStep({ gen, source, server, rate, warmupMs: PLAN.warmupMs, windowMs: PLAN.windowMs, redisPid: ctx.redisPid }).then((s) => {
        log(`${item.target} C=${item.clients} R=${rate}/s: ${s.deliveriesPerSec}/s delivered ${(s.deliveredRatio * 100).toFixed(1)}% p50 ${s.p50} p99 ${s.p99} ms; CPU server ${s.serverCpuPct}% gen ${s.generatorCpuPct}% src ${s.sourceCpuPct}% redis ${s.redisCpuPct}% foreign ${s.foreignCpuPct}%`);
        return s;
      });
    if (profiling) await server.call('probe:prof-start', {}, 10_000);
    const sweep = await sweepSaturation(step, { start, factor: 1.4, refine: 2, maxSteps: PLAN.maxSteps, maxRate: 200_000 });
    out.sweep = sweep.steps.map(compactStep);
    if (sweep.best) {
      // Repeat the best rate; if most repeats fail (noise, or a lucky sweep step), retry once 10% lower.
      let rate = sweep.best.rate;
      let runs = [sweep.best];
      for (let attempt = 0; attempt < 2; attempt++) {
        while (runs.length < PLAN.repeats) runs.push(await step(rate));
        const passes = runs.filter((r) => stepPasses(r)).length;
        if (passes * 2 > runs.length || attempt === 1 || PLAN.repeats < 2) break;
        out.retriedFrom = rate;
        rate = Math.round(rate * 0.9);
        runs = [];
      }
      out.best = {
        rate,
        runs: runs.length,
        passes: runs.filter((r) => stepPasses(r)).length,
        deliveriesPerSec: median(runs.map((r) => r.deliveriesPerSec)),
        framesPerSec: median(runs.map((r) => r.framesPerSec)),
        deliveredRatio: median(runs.map((r) => r.deliveredRatio)),
        p50: median(runs.map((r) => r.p50)),
        p95: median(runs.map((r) => r.p95)),
        p99: median(runs.map((r) => r.p99)),
        serverCpuPct: median(runs.map((r) => r.serverCpuPct)),
        generatorCpuPct: median(runs.map((r) => r.generatorCpuPct)),
        machineBusyPct: median(runs.map((r) => r.machineBusyPct)),
        foreignCpuPct: median(runs.map((r) => r.foreignCpuPct)),
        repeats: runs.map(compactStep),
      };
    } else {
      out.best = null;
      out.note = `no rate met p99 < 100 ms and >= 98% delivered (lowest tried ${Math.min(...sweep.steps.map((s) => s.rate))}/s)`;
    }
    if (profiling) {
      await server.call('probe:prof-stop', { file: profiling }, 60_000);
      const prof = summariseProfile(JSON.parse(readFileSync(profiling, 'utf8')), { root: ctx.dist.replace(/dist$/, '') });
      results.profiles.push({ target: item.target, clients: item.clients, file: profiling, ...prof });
      log(`${item.target}: CPU profile of the sweep ${profiling}; busy shares ${JSON.stringify(prof.share)}`);
      for (const t of prof.top.slice(0, 15)) log(`   ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
    }
    if (item.vs) {
      const ref = [...results.fanout].reverse().find((r) => r.target === item.vs && r.clients === item.clients);
      out.ratio = ratio(out.best?.deliveriesPerSec, ref?.best?.deliveriesPerSec);
    }
    out.serverErrors = sweep.steps.at(-1)?.serverErrors ?? 0;
    out.unexpectedCloses = sweep.steps.at(-1)?.unexpectedCloses ?? 0;
    out.errorSamples = sweep.steps.at(-1)?.errorSamples ?? [];
    return out;
  } finally {
    await gen.disconnect().catch((e) => log('disconnect:', e.message));
    const last = procStat(server.pid);
    await server.stop();
    if (last) log(`${item.target}: stopped (rss at stop ${round(last.rss / 2 ** 20, 1)} MB)`);

  }
}

/**
 * One tick for every symbol before clients connect, as a running feed would have sent: snapshots on
 * subscribe then come from the server's memory, for the project and the references alike.
 */
async function primeSymbols(ctx) {
  const n = ctx.symbols.length;
  await ctx.source.run({ rate: n * 4, startAt: nowMs() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0 });
  await sleep(200);
}

function compactStep(s) {
  const { rssSamples, errorSamples, ...rest } = s;
  return rest;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
