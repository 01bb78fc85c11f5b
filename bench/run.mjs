#!/usr/bin/env node
// `npm run bench`: builds (via the npm script), then measures on this machine, in one go:
// fan-out (raw WebSocket and Socket.IO, project vs minimal Redis-fed and bus-less reference servers), memory per idle
// connection, slow consumers, ingest, valuation, opt-in batched frames and start-up time.
// Results: bench/results/<date>.json and markdown tables on stdout. BENCH_QUICK=1: a few-minute smoke run.
// See docs/performance.md.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSymbols, ensureOpenFiles, insertBenchAssets, machineInfo, migrate, provideDatabase, provideRedis } from './lib/env.mjs';
import { InProcessSource, LoadGenerator, Source, runStep, waitForMachineIdle } from './lib/fanout.mjs';
import { BENCH_PRIORITY, nowMs, prioritise, prioritiseSession, procStat, sleep, stopAllStarted } from './lib/proc.mjs';
import { TARGETS } from './lib/servers.mjs';
import { median, ratio, round, stepPasses, sweepSaturation } from './lib/stats.mjs';
import { longTasks, summariseProfile } from './lib/cpuprofile.mjs';
import { renderReport, evaluateTargets } from './lib/report.mjs';
import { runIngest } from './scenarios/ingest.mjs';
import { runValuation } from './scenarios/valuation.mjs';
import { runStartup } from './scenarios/startup.mjs';
import { runHistory } from './scenarios/history.mjs';
import { runSnapshots } from './scenarios/snapshots.mjs';
import { runSlowConsumers } from './scenarios/slow-consumers.mjs';
import { runScale } from './scenarios/scale.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const IDLE_WAIT_MS = Number(process.env.BENCH_IDLE_WAIT_MS ?? 3_000);
/** BENCH_PROFILE=ws-project,sio-project: run those servers under --cpu-prof and print their hottest functions. */
/** BENCH_CLIENTS=1000,5000: run only the fan-out groups with those C. */
const CLIENT_FILTER = process.env.BENCH_CLIENTS ? new Set(process.env.BENCH_CLIENTS.split(',').map(Number)) : null;
/** BENCH_TARGETS=ws-reference,ws-project: run only those fan-out servers. */
const TARGET_FILTER = process.env.BENCH_TARGETS ? new Set(process.env.BENCH_TARGETS.split(',')) : null;
const PROFILE = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter(Boolean));
// Quick: the bus-less references made the whole quick run take about 235 s on a busy 2-core machine (2026-12-07).
// Full: 1,100 s on a quiet machine with the bus-less references (2026-12-07 14:25), before the latency-under-load
// windows, Socket.IO at C=1,000 and the scale scenario were added: the limit leaves room for a busy machine.
const HARD_LIMIT_MS = Number(process.env.BENCH_HARD_LIMIT_MS ?? (QUICK ? 420_000 : 2_700_000));

/** Everything the run does, in one place (QUICK shrinks it). */
const PLAN = QUICK
  ? {
      symbols: 500,
      perClient: 5,
      workers: 2,
      warmupMs: 500,
      windowMs: 1_500,
      repeats: 2,
      maxSteps: 4,
      fanout: [
        { clients: 1_000, members: ['ws-reference', 'ws-reference-busless', 'ws-project', 'ws-project-batched'] },
        { clients: 1_000, members: ['sio-reference', 'sio-reference-busless', 'sio-project'] },
      ],
      slow: { clients: 100, seconds: 9, targets: ['ws-project'] },
      ingestRuns: 3,
      valuation: { portfolios: 2_000, positions: 10, runs: 3 },
      startupRuns: 1,
      // Idle connections on one instance (spread over loopback source addresses), then a large catalog (scenarios/scale.mjs).
      scale: {
        clients: 5_000,
        perClient: 5,
        perAddress: 20_000,
        workers: 2,
        concurrency: 100,
        deadlineMs: 40_000,
        symbols: 2_000,
        snapshotClients: 50,
        snapshotsPerClient: 40,
        parallel: 25,
        coldSubscribes: 500,
      },
    }
  : {
      symbols: 500,
      perClient: 5,
      workers: 2,
      warmupMs: 750,
      windowMs: 2_500,
      repeats: 3,
      maxSteps: 7,
      // Each group: the Redis-fed reference first, then the bus-less one, then the project (see fanoutGroup).
      fanout: [
        { clients: 1_000, members: ['ws-reference', 'ws-reference-busless', 'ws-project'] },
        { clients: 5_000, members: ['ws-reference', 'ws-reference-busless', 'ws-project', 'ws-project-batched'] },
        { clients: 5_000, members: ['sio-reference', 'sio-reference-busless', 'sio-project'] },
        { clients: 1_000, members: ['sio-reference', 'sio-reference-busless', 'sio-project'] },
        { clients: 10_000, members: ['ws-reference', 'ws-reference-busless', 'ws-project'], memoryOnly: true },
      ],
      slow: { clients: 100, seconds: 30, targets: ['ws-project', 'ws-reference'] },
      ingestRuns: 5,
      valuation: { portfolios: 10_000, positions: 10, runs: 5 },
      startupRuns: 3,
      // Issue 16's scale goal: 50,000 idle connections on one instance, 10,000 symbols in the catalog (scenarios/scale.mjs).
      scale: {
        clients: 50_000,
        perClient: 5,
        perAddress: 12_500,
        workers: 2,
        concurrency: 100,
        deadlineMs: 80_000,
        symbols: 10_000,
        snapshotClients: 250,
        snapshotsPerClient: 40,
        parallel: 25,
        coldSubscribes: 2_000,
      },
    };

/** Rates to start sweeping at when nothing was measured yet in this run (ticks/s; deliveries = rate x subscribers per symbol). */
/** Windows per server at 75% of the bus-less reference's saturation rate (latency under load). */
const LOAD_REPEATS = QUICK ? 1 : 3;

const PRIOR_DELIVERIES = { ws: 100_000, sio: 60_000 };

function log(...args) {
  const t = ((nowMs() - T0) / 1000).toFixed(1).padStart(6);
  console.log(`[${t}s]`, ...args);
}
const T0 = nowMs();
const timeLeftMs = () => HARD_LIMIT_MS - (nowMs() - T0);

async function main() {
  // The busiest process holds one descriptor per client plus its own: a load-generator worker holds half of
  // the clients of every server in a group (3 x 10,000 / 2 at C=10,000).
  // The scale scenario's server holds all of its clients at once (50,000): ask for that plus a margin when it runs.
  if (ensureOpenFiles(Math.max(16_000, !ONLY || ONLY.has('scale') ? PLAN.scale.clients + 10_000 : 0))) return;
  prioritise(process.pid);
  const sessionPriority = prioritiseSession();
  const dist = resolve(ROOT, process.env.BENCH_DIST ?? 'dist');
  if (!existsSync(join(dist, 'main.js'))) throw new Error(`${dist}/main.js not found: run \`nest build\` first (npm run bench does)`);
  const tmpDir = mkdtempSync(join(tmpdir(), 'rm-bench-'));
  chmodSync(tmpDir, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
  const logDir = join(tmpDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const ctx = {
    root: ROOT,
    dist,
    tmpDir,
    logDir,
    prefix: `rmbench${process.pid}:`,
    quick: QUICK,
    plan: PLAN,
    log,
    profileEngine: PROFILE.has('ingest') || PROFILE.has('valuation'),
  };
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
    valuationFx: null,
    startup: null,
    history: null,
    snapshots: null,
    scale: null,
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
    if (want('fanout') || want('slow')) {
      const source = await Source.start({ redisUrl: ctx.redisUrl, prefix: ctx.prefix, symbols: ctx.symbols });
      cleanups.push(() => source.close());
      const gen = new LoadGenerator(PLAN.workers);
      cleanups.push(() => gen.close());
      ctx.source = source;
      ctx.gen = gen;
      if (want('fanout')) {
        for (const g of PLAN.fanout.filter((x) => !CLIENT_FILTER || CLIENT_FILTER.has(x.clients))) {
          const group = { ...g, members: g.members.filter((x) => (!TARGET_FILTER || TARGET_FILTER.has(x)) && (want('batched') || !x.endsWith('-batched'))) };
          if (group.members.length === 0) continue;
          const outs = await guarded(results, `fanout ${group.members.join(' + ')} C=${group.clients}${group.memoryOnly ? ' (memory only)' : ''}`, () =>
            fanoutGroup(ctx, group, results),
          );
          for (const o of outs ?? []) {
            if (o.target.endsWith('-batched')) results.batched = o;
            else results.fanout.push(o);
          }
        }
      }
    }
    if (want('scale')) results.scale = await guarded(results, 'scale', () => runScale(ctx, PLAN.scale, results));
    if (want('ingest')) results.ingest = await guarded(results, 'ingest', () => runIngest(ctx, { runs: PLAN.ingestRuns }));
    if (want('valuation')) results.valuation = await guarded(results, 'valuation', () => runValuation(ctx, PLAN.valuation));
    if (want('valuation') || want('valuation-fx'))
      results.valuationFx = await guarded(results, 'valuation with FX', () => runValuation(ctx, { ...PLAN.valuation, fx: true }));
    if (want('history')) results.history = await guarded(results, 'resume history', () => runHistory(ctx, { symbols: QUICK ? 1_000 : 10_000, capacity: 64 }));
    if (want('snapshots')) results.snapshots = await guarded(results, 'daily snapshots', () => runSnapshots(ctx, { portfolios: QUICK ? 500 : 10_000 }));
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
  for (const c of (ctx.cleanups ?? []).reverse())
    await Promise.resolve()
      .then(c)
      .catch((e) => console.error('cleanup:', e.message));
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

/**
 * One fan-out group: the references (Redis-fed and bus-less) and the project server(s) for one transport
 * and C, all running at once, each with its own C clients and its own price source (a Redis channel of the
 * bench's source, or the bus-less server's in-process ticker), so only the server being measured gets
 * prices. Per server: setup rate, memory per idle connection, a saturation sweep. Then the repeats at
 * each server's saturation rate alternate between the servers, so slow changes in machine noise hit
 * them alike; the medians of those windows are reported and compared. Last, one window per server at
 * the same rate (half the group's lowest saturation rate): p99 latency at a given rate.
 * Every server is compared with both references of its group (out.vs / out.ratio: the Redis-fed one,
 * out.vsBusless / out.ratioBusless: the bus-less one).
 */
async function fanoutGroup(ctx, group, results) {
  const { gen } = ctx;
  const members = [];
  const redisRef = group.members.find((n) => TARGETS[n].reference === 'redis');
  const buslessRef = group.members.find((n) => TARGETS[n].reference === 'busless');
  const idle = await waitForMachineIdle(IDLE_WAIT_MS);
  if (idle !== null && idle >= 15) log(`machine still ${idle}% busy with other work after ${IDLE_WAIT_MS} ms; measuring anyway`);
  try {
    for (const name of group.members) {
      const spec = TARGETS[name];
      const prefix = `${ctx.prefix}${name}:`;
      const server = await spec.start(ctx, { prefix });
      const m = { name, spec, server, prefix, source: ctx.source };
      members.push(m);
      log(`${name}: started in ${round(server.startMs)} ms (pid ${server.pid})`);
      if (spec.reference === 'busless') m.source = await InProcessSource.start(server, { symbols: ctx.symbols });
      await primeSymbols(m.source, ctx, prefix);
      await sleep(500);
      const m0 = await server.memory();
      const setup = await gen.connect({
        port: server.port,
        path: spec.path,
        transport: spec.transport,
        clients: group.clients,
        perClient: PLAN.perClient,
        symbols: ctx.symbols,
      });
      log(
        `${name}: ${setup.ready}/${group.clients} connected+subscribed in ${setup.elapsedMs} ms (${setup.setupRate}/s), failed ${setup.failed}`,
        setup.failed ? JSON.stringify(setup.failures) : '',
      );
      await sleep(1_000);
      const m1 = await server.memory();
      const memory = {
        rssBeforeMB: round(m0.rss / 2 ** 20, 1),
        rssAfterMB: round(m1.rss / 2 ** 20, 1),
        rssPerConnKB: setup.ready ? round((m1.rss - m0.rss) / setup.ready / 1024, 2) : null,
        heapPerConnKB: setup.ready ? round((m1.heapUsed - m0.heapUsed) / setup.ready / 1024, 2) : null,
      };
      log(`${name}: memory per idle connection ${memory.rssPerConnKB} KB RSS, ${memory.heapPerConnKB} KB heap`);
      m.out = {
        target: name,
        transport: spec.transport,
        clients: group.clients,
        reference: spec.reference ?? null,
        vs: name === redisRef ? null : (redisRef ?? null),
        vsBusless: name === buslessRef ? null : (buslessRef ?? null),
        memoryOnly: !!group.memoryOnly,
        startMs: round(server.startMs),
        setup,
        memory,
      };
      if (setup.ready < group.clients * 0.98)
        throw new Error(`${name}: only ${setup.ready}/${group.clients} clients connected: ${JSON.stringify(setup.failures)}`);
    }
    if (group.memoryOnly) return members.map((m) => m.out);

    const subsPerSymbol = (group.clients * PLAN.perClient) / ctx.symbols.length;
    const stepOf = (m) => (rate) =>
      runStep({
        gen,
        source: m.source,
        server: m.server,
        rate,
        warmupMs: PLAN.warmupMs,
        windowMs: PLAN.windowMs,
        redisPid: ctx.redisPid,
        prefix: m.prefix,
      }).then((s) => {
        log(
          `${m.name} C=${group.clients} R=${rate}/s: ${s.deliveriesPerSec}/s delivered ${(s.deliveredRatio * 100).toFixed(1)}% p50 ${s.p50} p99 ${s.p99} ms; CPU server ${s.serverCpuPct}% gen ${s.generatorCpuPct}% src ${s.sourceCpuPct}% redis ${s.redisCpuPct}% foreign ${s.foreignCpuPct}%${s.serverLoop ? `; server loop delay p99 ${s.serverLoop.eldP99} max ${s.serverLoop.eldMax} ms, GC max ${s.serverLoop.gcMaxMs} ms` : ''}`,
        );
        return s;
      });

    // 1. A saturation sweep per server (the reference first; the others start near its result).
    for (const m of members) {
      const ref = members[0].sweep?.best;
      const earlier = [...results.fanout].reverse().find((r) => r.best && r.target === m.name);
      const startDeliveries = ref
        ? ref.deliveriesPerSec * (m.name.endsWith('-batched') ? 1.2 : m.spec.reference === 'busless' ? 1 : 0.9)
        : earlier
          ? earlier.best.deliveriesPerSec * (earlier.clients === group.clients ? 0.8 : 0.6)
          : PRIOR_DELIVERIES[m.spec.transport] * 0.5;
      m.profiling = PROFILE.has(m.name) ? join(ctx.logDir, `prof-${m.name}-${group.clients}.cpuprofile`) : null;
      if (m.profiling) await m.server.call('probe:prof-start', {}, 10_000);
      m.sweep = await sweepSaturation(stepOf(m), {
        start: Math.max(20, Math.round(startDeliveries / subsPerSymbol)),
        factor: 1.4,
        refine: 2,
        maxSteps: PLAN.maxSteps,
        maxRate: 200_000,
        confirmFailures: !QUICK,
      });
      m.out.sweep = m.sweep.steps.map(compactStep);
      m.rate = m.sweep.best?.rate ?? null;
      m.runs = m.sweep.best ? [m.sweep.best] : [];
    }

    // 2. Repeats at each saturation rate, alternating between the servers; a server whose repeats
    //    mostly fail is retried once 10% lower (again alternating).
    const active = () => members.filter((m) => m.rate !== null && !m.done);
    const ATTEMPTS = 3;
    for (let attempt = 0; attempt < ATTEMPTS && active().length > 0; attempt++) {
      while (active().some((m) => m.runs.length < PLAN.repeats)) {
        for (const m of active()) if (m.runs.length < PLAN.repeats) m.runs.push(await stepOf(m)(m.rate));
      }
      for (const m of active()) {
        const passes = m.runs.filter((r) => stepPasses(r)).length;
        if (passes * 2 > m.runs.length || attempt === ATTEMPTS - 1 || PLAN.repeats < 2) m.done = true;
        else {
          m.out.retriedFrom = [...(m.out.retriedFrom ?? []), m.rate];
          m.rate = Math.round(m.rate * 0.9);
          m.runs = [];
        }
      }
    }

    for (const m of members) {
      const { out, runs } = m;
      if (m.rate !== null && runs.length) {
        out.best = {
          rate: m.rate,
          runs: runs.length,
          passes: runs.filter((r) => stepPasses(r)).length,
          deliveriesPerSec: round(median(runs.map((r) => r.deliveriesPerSec)), 2),
          framesPerSec: round(median(runs.map((r) => r.framesPerSec)), 2),
          deliveredRatio: round(median(runs.map((r) => r.deliveredRatio)), 4),
          p50: round(median(runs.map((r) => r.p50)), 2),
          p95: round(median(runs.map((r) => r.p95)), 2),
          p99: round(median(runs.map((r) => r.p99)), 2),
          serverCpuPct: round(median(runs.map((r) => r.serverCpuPct)), 2),
          generatorCpuPct: round(median(runs.map((r) => r.generatorCpuPct)), 2),
          machineBusyPct: round(median(runs.map((r) => r.machineBusyPct)), 2),
          foreignCpuPct: round(median(runs.map((r) => r.foreignCpuPct)), 2),
          // Server CPU time per delivered update (µs): a cost measure that machine noise disturbs less than throughput.
          serverUsPerDelivery: round(median(runs.map((r) => (r.deliveriesPerSec > 0 ? (r.serverCpuPct * 10_000) / r.deliveriesPerSec : null))), 2),
          repeats: runs.map(compactStep),
        };
      } else {
        out.best = null;
        out.note = `no rate met p99 < 100 ms and >= 98% delivered (lowest tried ${Math.min(...m.sweep.steps.map((x) => x.rate))}/s)`;
      }
      const last = m.sweep.steps.at(-1);
      out.serverErrors = last?.serverErrors ?? 0;
      out.unexpectedCloses = last?.unexpectedCloses ?? 0;
      out.errorSamples = last?.errorSamples ?? [];
      if (m.profiling) {
        await m.server.call('probe:prof-stop', { file: m.profiling }, 60_000);
        const prof = summariseProfile(JSON.parse(readFileSync(m.profiling, 'utf8')), { root: ctx.dist.replace(/dist$/, '') });
        results.profiles.push({ target: m.name, clients: group.clients, file: m.profiling, ...prof });
        log(`${m.name}: CPU profile of the sweep ${m.profiling}; busy shares ${JSON.stringify(prof.share)}`);
        for (const t of prof.top.slice(0, 15)) log(`   ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
      }
    }
    // 3. Latency under load (issue 16): one window per server at 75% of the bus-less reference's saturation
    //    rate, repeated (alternating) so one noisy window does not decide; the median p99 is compared.
    const rated = members.filter((m) => m.out.best);
    const busless = members.find((m) => m.name === buslessRef)?.out.best;
    if (busless && rated.length > 1) {
      const loadRate = Math.max(20, Math.round(busless.rate * 0.75));
      const windows = new Map(rated.map((m) => [m, []]));
      const fanout = new Map();
      // BENCH_PROFILE=ws-project@load: a CPU profile of the server over these windows, and its long tasks.
      const profiled = rated.filter((m) => PROFILE.has(`${m.name}@load`));
      for (const m of profiled) await m.server.call('probe:prof-start', {}, 10_000);
      for (let i = 0; i < LOAD_REPEATS; i++)
        for (const m of rated) {
          // The project's own view of the same windows: bus publish -> frames written (realtime_fanout_latency_seconds).
          const before = m.spec.reference ? null : await fanoutHistogram(m.server.port);
          windows.get(m).push(await stepOf(m)(loadRate));
          const after = before ? await fanoutHistogram(m.server.port) : null;
          if (before && after) fanout.set(m, addHistograms(fanout.get(m), diffHistograms(after, before)));
        }
      for (const m of profiled) {
        const file = join(ctx.logDir, `prof-${m.name}-${group.clients}-load.cpuprofile`);
        await m.server.call('probe:prof-stop', { file }, 60_000);
        const profile = JSON.parse(readFileSync(file, 'utf8'));
        const root = ctx.dist.replace(/dist$/, '');
        const prof = {
          target: m.name,
          clients: group.clients,
          at: 'load',
          file,
          ...summariseProfile(profile, { root }),
          longTasks: longTasks(profile, { root }),
        };
        results.profiles.push(prof);
        log(`${m.name}: CPU profile of the latency-under-load windows ${file}; busy shares ${JSON.stringify(prof.share)}`);
        for (const t of prof.top.slice(0, 12)) log(`   ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
        log(`${m.name}: ${prof.longTasks.length} long tasks (>= 8 ms) in those windows`);
        for (const t of prof.longTasks.slice(0, 8)) log(`   ${t.ms} ms: ${t.held.join('; ')}`);
      }
      for (const [m, runs] of windows) {
        m.out.atLoad = {
          rate: loadRate,
          ofBuslessSaturation: 0.75,
          runs: runs.length,
          deliveriesPerSec: round(median(runs.map((r) => r.deliveriesPerSec)), 2),
          deliveredRatio: round(median(runs.map((r) => r.deliveredRatio)), 4),
          p50: round(median(runs.map((r) => r.p50)), 2),
          p99: round(median(runs.map((r) => r.p99)), 2),
          serverCpuPct: round(median(runs.map((r) => r.serverCpuPct)), 2),
          foreignCpuPct: round(median(runs.map((r) => r.foreignCpuPct)), 2),
          // The server's own share of the latency: how long its event loop was held, and by GC.
          loopDelayP99: round(median(runs.map((r) => r.serverLoop?.eldP99 ?? null)), 2),
          loopDelayMax: round(median(runs.map((r) => r.serverLoop?.eldMax ?? null)), 2),
          gcMaxMs: round(median(runs.map((r) => r.serverLoop?.gcMaxMs ?? null)), 2),
          gcMsPerSec: round(median(runs.map((r) => (r.serverLoop ? (r.serverLoop.gcMs * 1000) / (PLAN.warmupMs + PLAN.windowMs) : null))), 2),
          serverFanout: fanout.has(m) ? histogramSummary(fanout.get(m)) : null,
        };
      }
    }
    // 4. p99 at a given rate: one window per server at the same rate, half the group's lowest saturation rate.
    if (rated.length > 1) {
      const sameRate = Math.max(20, Math.round(Math.min(...rated.map((m) => m.out.best.rate)) / 2));
      for (const m of rated) {
        const s = await stepOf(m)(sameRate);
        m.out.atRate = {
          rate: sameRate,
          deliveriesPerSec: s.deliveriesPerSec,
          deliveredRatio: s.deliveredRatio,
          p50: s.p50,
          p99: s.p99,
          serverCpuPct: s.serverCpuPct,
          serverUsPerDelivery: s.deliveriesPerSec > 0 ? round((s.serverCpuPct * 10_000) / s.deliveriesPerSec, 2) : null,
          foreignCpuPct: s.foreignCpuPct,
        };
      }
    }

    const outOf = (name) => members.find((m) => m.name === name)?.out;
    for (const m of members) {
      if (m.out.vs) m.out.ratio = ratio(m.out.best?.deliveriesPerSec, outOf(m.out.vs)?.best?.deliveriesPerSec);
      if (m.out.vsBusless) m.out.ratioBusless = ratio(m.out.best?.deliveriesPerSec, outOf(m.out.vsBusless)?.best?.deliveriesPerSec);
    }
    return members.map((m) => m.out);
  } finally {
    await gen.disconnect().catch((e) => log('disconnect:', e.message));
    for (const m of members) {
      const last = procStat(m.server.pid);
      await m.server.stop();
      if (last) log(`${m.name}: stopped (rss at stop ${round(last.rss / 2 ** 20, 1)} MB)`);
    }
  }
}

/** The project's cumulative `realtime_fanout_latency_seconds` buckets ({le: count}, le in ms), or null. */
async function fanoutHistogram(port) {
  const ctl = AbortSignal.timeout(5_000);
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: ctl })).text();
    const out = {};
    for (const m of text.matchAll(/^realtime_fanout_latency_seconds_bucket\{le="([^"]+)"\} (\d+)/gm))
      out[m[1] === '+Inf' ? 'Infinity' : String(Number(m[1]) * 1000)] = Number(m[2]);
    return Object.keys(out).length ? out : null;
  } catch {
    return null;
  }
}
const diffHistograms = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - (b[k] ?? 0)]));
const addHistograms = (a, b) => (a ? Object.fromEntries(Object.keys(b).map((k) => [k, b[k] + (a[k] ?? 0)])) : b);
/** Frames observed, and the bucket bounds (ms) holding the median and the 99th percentile of them. */
function histogramSummary(h) {
  const les = Object.keys(h)
    .map(Number)
    .sort((x, y) => x - y);
  const total = h.Infinity ?? 0;
  if (!total) return null;
  const at = (q) => les.find((le) => h[String(le)] >= q * total) ?? null;
  return { frames: total, p50AtMostMs: at(0.5), p99AtMostMs: at(0.99), within5ms: round(h['5'] / total, 4), within25ms: round(h['25'] / total, 4) };
}

/**
 * One tick for every symbol before clients connect, as a running feed would have sent: snapshots on
 * subscribe then come from the server's memory, for the project and the references alike.
 */
async function primeSymbols(source, ctx, prefix) {
  const n = ctx.symbols.length;
  await source.run({ rate: n * 4, startAt: nowMs() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0, prefix });
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
