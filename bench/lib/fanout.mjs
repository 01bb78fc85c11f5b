// Fan-out measurement: a pool of load-generator worker processes plus the price source,
// driven step by step (one rate per step, one measurement window per step).
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuPercent, forkWorker, machineBusyPct, machineCpu, nowMs, procStat, sleep } from './proc.mjs';
import { expectedDeliveries, latencySummary, mergeHistograms, round, subscribersPerSymbol, symbolsForClient } from './stats.mjs';

const WORKER = fileURLToPath(new URL('./loadgen-worker.mjs', import.meta.url));
const SOURCE = fileURLToPath(new URL('./source-worker.mjs', import.meta.url));
const cores = cpus().length;

export class Source {
  static async start({ redisUrl, prefix, symbols }) {
    const s = new Source();
    s.rpc = forkWorker(SOURCE, 'source');
    s.symbols = symbols;
    await s.rpc.call('init', { redisUrl, prefix, symbols }, 15_000);
    return s;
  }
  run(args) {
    return this.rpc.call('run', args, args.durationMs + 30_000);
  }
  async close() {
    try {
      this.rpc.child.send({ cmd: 'exit' });
    } catch {
      /* gone */
    }
    await Promise.race([new Promise((r) => this.rpc.child.once('exit', r)), sleep(3_000)]);
    if (this.rpc.child.exitCode === null) this.rpc.child.kill('SIGKILL');
  }
}

/**
 * The price source of a bus-less reference server: the server ticks in its own process
 * (bench/reference/ticker.mjs); this drives it over the server's IPC channel with the same `run`
 * arguments and result as Source, so runStep measures both kinds of server alike. The result's cpuMs
 * is 0: producing the ticks is part of the server's CPU.
 */
export class InProcessSource {
  static async start(server, { symbols }) {
    const s = new InProcessSource();
    s.server = server;
    s.symbols = symbols;
    await server.call('source:init', { symbols }, 15_000);
    return s;
  }
  run(args) {
    const { rate, startAt, durationMs, tickMs, t0, t1 } = args; // no prefix: there is no channel
    return this.server.call('source:run', { rate, startAt, durationMs, tickMs, t0, t1 }, durationMs + 30_000);
  }
  async close() {
    /* the server owns the ticker */
  }
}

export class LoadGenerator {
  constructor(count) {
    this.workers = Array.from({ length: count }, (_, i) => forkWorker(WORKER, `loadgen-${i}`));
    this.subs = null;
  }

  all(cmd, payload, timeoutMs) {
    return Promise.all(this.workers.map((w) => w.call(cmd, payload, timeoutMs)));
  }

  /**
   * Opens `clients` connections spread over the workers. Client i subscribes to `perClient` symbols
   * (or `slowPerClient` when slow(i)); returns setup totals and the subscriber count per symbol.
   * `localAddresses`: client i connects from localAddresses[i % n] (the scale scenario: one source
   * address gives only ~28,000 ephemeral ports, net.ipv4.ip_local_port_range).
   */
  async connect({
    host = '127.0.0.1',
    port,
    path,
    transport,
    namespace = '/realtime',
    clients,
    perClient,
    symbols,
    slow = () => false,
    slowPerClient = perClient,
    concurrency = 100,
    deadlineMs = 120_000,
    localAddresses = null,
  }) {
    const perWorker = this.workers.map(() => []);
    for (let i = 0; i < clients; i++) {
      const isSlow = slow(i);
      const idx = symbolsForClient(i, isSlow ? slowPerClient : perClient, symbols.length);
      const spec = { index: i, symbols: idx.map((k) => symbols[k]), slow: isSlow };
      if (localAddresses?.length) spec.localAddress = localAddresses[i % localAddresses.length];
      perWorker[i % this.workers.length].push(spec);
    }
    const t0 = nowMs();
    const results = await Promise.all(
      this.workers.map((w, k) =>
        w.call(
          'connect',
          { host, port, path, transport, namespace, specs: perWorker[k], concurrency, deadlineMs, perClientTimeoutMs: 30_000 },
          deadlineMs + 10_000,
        ),
      ),
    );
    const elapsedMs = nowMs() - t0;
    this.subs = subscribersPerSymbol(clients, perClient, symbols.length, slow);
    const ready = results.reduce((a, r) => a + r.ready, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    const failures = {};
    for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    return {
      clients,
      ready,
      failed,
      failures,
      elapsedMs: round(elapsedMs),
      setupRate: round((ready * 1000) / elapsedMs),
      setupP50Ms: round(Math.max(...results.map((r) => r.setupP50Ms ?? 0)), 1),
      setupP99Ms: round(Math.max(...results.map((r) => r.setupP99Ms ?? 0)), 1),
    };
  }

  /** Waits until no update arrived for `quietMs` (bounded by maxMs). Returns whether it got quiet. */
  async waitQuiet(quietMs, maxMs) {
    const end = nowMs() + maxMs;
    while (nowMs() < end) {
      const st = await this.all('status', {}, 10_000);
      const last = Math.max(...st.map((s) => s.lastRecvAt));
      if (nowMs() - last >= quietMs) return true;
      await sleep(Math.min(100, quietMs / 2));
    }
    return false;
  }

  stall() {
    return this.all('stall', {}, 10_000);
  }

  /** `reset`: close with an RST, leaving no TIME_WAIT (loadgen-worker.mjs disconnectAll). */
  disconnect({ reset = false } = {}) {
    return this.all('disconnect', { timeoutMs: 15_000, reset }, 30_000);
  }

  async close() {
    await Promise.all(
      this.workers.map(async (w) => {
        try {
          w.child.send({ cmd: 'exit' });
        } catch {
          /* gone */
        }
        await Promise.race([new Promise((r) => w.child.once('exit', r)), sleep(5_000)]);
        if (w.child.exitCode === null) w.child.kill('SIGKILL');
      }),
    );
  }
}

/**
 * One measured step at `rate` ticks/s: warm-up, then a window whose published_at range defines what
 * counts; waits for stragglers (drain), collects, and lets the server's backlog clear (settle).
 */
export async function runStep({ gen, source, server, rate, warmupMs, windowMs, tickMs = 10, drainMs = 1_500, settleMs = 8_000, sampleRss, redisPid, prefix }) {
  const startAt = nowMs() + 150;
  const t0 = startAt + warmupMs;
  const t1 = t0 + windowMs;
  await gen.all('window', { t0, t1 }, 10_000);
  const cpuBefore = await gen.all('status', {}, 10_000);
  const s0 = procStat(server.pid);
  const r0 = redisPid ? procStat(redisPid) : null;
  const m0 = machineCpu();
  const rssSamples = [];
  const sampler = sampleRss
    ? setInterval(() => {
        const st = procStat(server.pid);
        if (st) rssSamples.push({ t: round((st.at - startAt) / 1000, 2), rss: st.rss });
      }, sampleRss)
    : null;
  let src;
  let loop = null;
  try {
    // What held the server's event loop during the window (its delay, GC pauses): where latency comes from.
    await server.call?.('probe:loop-start', {}, 5_000).catch(() => null);
    src = await source.run({ rate, startAt, durationMs: warmupMs + windowMs, tickMs, t0, t1, prefix });
    await gen.waitQuiet(200, drainMs);
  } finally {
    if (sampler) clearInterval(sampler);
    loop = (await server.call?.('probe:loop-stop', {}, 5_000).catch(() => null))?.loop ?? null;
  }
  const s1 = procStat(server.pid);
  const r1 = redisPid ? procStat(redisPid) : null;
  const m1 = machineCpu();
  const parts = await gen.all('collect', {}, 20_000);
  const hist = mergeHistograms(parts.map((p) => p.hist));
  const lat = latencySummary(hist);
  const expected = expectedDeliveries(src.counts, gen.subs);
  const delivered = parts.reduce((a, p) => a + p.received, 0);
  const frames = parts.reduce((a, p) => a + p.frames, 0);
  const wallMs = s1 && s0 ? s1.at - s0.at : warmupMs + windowMs;
  const genCpuMs = parts.reduce((a, p, i) => a + (p.cpu.user + p.cpu.system - cpuBefore[i].cpu.user - cpuBefore[i].cpu.system) / 1000, 0);
  const settled = await gen.waitQuiet(300, settleMs);
  const serverCpuPct = cpuPercent(s0, s1);
  const generatorCpuPct = (100 * genCpuMs) / wallMs;
  const sourceCpuPct = (100 * src.cpuMs) / src.elapsedMs;
  const redisCpuPct = r0 && r1 ? cpuPercent(r0, r1) : 0;
  const machineBusy = machineBusyPct(m0, m1);
  return {
    rate,
    achievedRate: round(src.achievedRate),
    expected,
    delivered,
    deliveredRatio: expected > 0 ? round(delivered / expected, 4) : null,
    deliveriesPerSec: round((delivered * 1000) / windowMs),
    framesPerSec: round((frames * 1000) / windowMs),
    p50: lat.p50,
    p95: lat.p95,
    p99: lat.p99,
    max: lat.max,
    serverCpuPct: round(serverCpuPct, 1),
    serverRssMB: s1 ? round(s1.rss / 2 ** 20, 1) : null,
    generatorCpuPct: round(generatorCpuPct, 1),
    generatorUserPct: round(parts.reduce((a, p, i) => a + (p.cpu.user - cpuBefore[i].cpu.user) / 10, 0) / wallMs, 1),
    machineBusyPct: machineBusy,
    sourceCpuPct: round(sourceCpuPct, 1),
    redisCpuPct: round(redisCpuPct, 1),
    // CPU (% of one core) used by processes outside this bench during the step: other work on the machine.
    foreignCpuPct: machineBusy == null ? null : round(Math.max(0, machineBusy * cores - serverCpuPct - generatorCpuPct - sourceCpuPct - redisCpuPct), 1),
    sourceMaxLagMs: round(src.maxLagMs, 1),
    serverLoop: loop,
    serverErrors: parts.reduce((a, p) => a + p.serverErrors, 0),
    unexpectedCloses: parts.reduce((a, p) => a + p.unexpectedCloses, 0),
    errorSamples: parts.flatMap((p) => p.errorSamples).slice(0, 3),
    openConnections: parts.reduce((a, p) => a + p.open, 0),
    settled,
    rssSamples: sampleRss ? rssSamples : undefined,
  };
}

/**
 * Waits (bounded) until the machine is nearly idle, so a step does not start while other work
 * (builds, tests) runs. Returns the busy percent seen last.
 */
export async function waitForMachineIdle(maxMs, busyBelowPct = 15) {
  const end = nowMs() + maxMs;
  let last = null;
  while (nowMs() < end) {
    const a = machineCpu();
    await sleep(500);
    last = machineBusyPct(a, machineCpu());
    if (last !== null && last < busyBelowPct) return last;
  }
  return last;
}
