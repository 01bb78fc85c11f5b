// Slow consumers: 10% of the clients stop reading (their TCP sockets are paused) while prices keep
// flowing; measures the other clients' p99 and delivery, and the server's RSS over time.
// Slow clients subscribe to 50 symbols and C is small (100), so that each slow socket receives
// several hundred KB/s and the kernel's socket buffers (several MB per connection on loopback) fill
// within the run: only then does the server's own outbound buffering (and, in the project,
// conflation) come into play.
import { runStep } from '../lib/fanout.mjs';
import { procStat, sleep } from '../lib/proc.mjs';
import { TARGETS } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';

/** Slow clients subscribe to this many symbols (the per-connection cap). */
const SLOW_SUBSCRIPTIONS = 50;

async function hubStatus(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/realtime/status/`, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return null;
    const body = await res.json();
    return { connections: body.global_stats?.total_connections ?? null, conflated: body.global_stats?.conflated_connections ?? null };
  } catch {
    return null;
  }
}

export async function runSlowConsumers(ctx, { target, clients, seconds }, results) {
  const spec = TARGETS[target];
  const { gen, source, plan, log } = ctx;
  const slow = (i) => i % 10 === 0;
  const slowCount = Math.ceil(clients / 10);
  // Before the stall every subscription is served: aim at half the lower saturated deliveries/s measured for raw WebSocket.
  if (!ctx.slowRate) {
    const sat = results.fanout.filter((r) => (r.target === 'ws-reference' || r.target === 'ws-project') && r.best).map((r) => r.best.deliveriesPerSec);
    const deliveries = (sat.length ? Math.min(...sat) : 30_000) * 0.5;
    const subsPerSymbol = ((clients - slowCount) * plan.perClient + slowCount * SLOW_SUBSCRIPTIONS) / ctx.symbols.length;
    ctx.slowRate = Math.max(50, Math.round(deliveries / subsPerSymbol));
  }
  const rate = ctx.slowRate;
  const server = await spec.start(ctx);
  const isProject = target.includes('project');
  try {
    await source.run({ rate: ctx.symbols.length * 4, startAt: Date.now() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0 }); // prime every symbol
    const setup = await gen.connect({
      port: server.port,
      path: spec.path,
      transport: spec.transport,
      clients,
      perClient: plan.perClient,
      symbols: ctx.symbols,
      slow,
      slowPerClient: SLOW_SUBSCRIPTIONS,
    });
    log(`${target}: ${setup.ready}/${clients} connected (${slowCount} will stall, ${SLOW_SUBSCRIPTIONS} symbols each); R=${rate}/s`);
    const startRss = procStat(server.pid).rss;
    const baseline = await runStep({ gen, source, server, rate, warmupMs: 500, windowMs: 2_000, redisPid: ctx.redisPid });
    log(`${target}: baseline p99 ${baseline.p99} ms delivered ${(baseline.deliveredRatio * 100).toFixed(1)}%`);
    await gen.stall();
    const windows = [];
    const rss = [];
    const windowMs = 3_000;
    const count = Math.max(2, Math.round((seconds * 1000) / windowMs));
    let maxConflated = 0;
    for (let k = 0; k < count; k++) {
      const s = await runStep({ gen, source, server, rate, warmupMs: 0, windowMs, drainMs: 1_000, settleMs: 2_000, sampleRss: 500, redisPid: ctx.redisPid });
      const offset = windows.length * (windowMs + 1);
      for (const x of s.rssSamples ?? []) rss.push({ t: round(offset + x.t, 1), rssMB: round(x.rss / 2 ** 20, 1) });
      const hub = isProject ? await hubStatus(server.port) : null;
      if (hub?.conflated) maxConflated = Math.max(maxConflated, hub.conflated);
      windows.push({ ...s, hub });
      log(
        `${target}: stalled window ${k + 1}/${count}: others p99 ${s.p99} ms delivered ${(s.deliveredRatio * 100).toFixed(1)}%, server RSS ${s.serverRssMB} MB${hub ? `, hub: ${hub.connections} connections, ${hub.conflated} conflated` : ''}`,
      );
    }
    await sleep(200);
    const endRss = procStat(server.pid)?.rss ?? null;
    const rssValues = rss.map((x) => x.rssMB);
    const lastHub = windows.at(-1)?.hub;
    return {
      target,
      clients,
      slowClients: slowCount,
      slowSubscriptions: SLOW_SUBSCRIPTIONS,
      rate,
      stalledSeconds: round((count * windowMs) / 1000, 1),
      setupFailed: setup.failed,
      baseline: { p99: baseline.p99, deliveredRatio: baseline.deliveredRatio },
      during: {
        p99Median: round(median(windows.map((w) => w.p99)), 2),
        p99Max: Math.max(...windows.map((w) => w.p99 ?? 0)),
        deliveredMin: Math.min(...windows.map((w) => w.deliveredRatio ?? 0)),
        windows: windows.map((w) => ({ p99: w.p99, deliveredRatio: w.deliveredRatio, serverRssMB: w.serverRssMB, serverCpuPct: w.serverCpuPct, hub: w.hub })),
      },
      rss: {
        startMB: round(startRss / 2 ** 20, 1),
        maxMB: rssValues.length ? Math.max(...rssValues) : null,
        endMB: endRss ? round(endRss / 2 ** 20, 1) : null,
        timeline: rss,
      },
      hub: isProject ? { maxConflated, connectionsAtEnd: lastHub?.connections ?? null } : null,
    };
  } finally {
    await gen.disconnect().catch(() => {});
    await server.stop();
  }
}
