// Slow consumers: 10% of the clients stop reading (their TCP sockets are paused) while prices keep
// flowing; measures the other clients' p99 and delivery, and the server's RSS over time.
import { runStep } from '../lib/fanout.mjs';
import { procStat, sleep } from '../lib/proc.mjs';
import { TARGETS } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';

/** Slow clients subscribe to this many symbols (the per-connection cap) so their socket buffers fill within the run. */
const SLOW_SUBSCRIPTIONS = 50;

export async function runSlowConsumers(ctx, { target, clients, seconds }, results) {
  const spec = TARGETS[target];
  const { gen, source, plan, log } = ctx;
  // Half the lower of the project's and the reference's saturated rates at this C (same for every server here).
  if (!ctx.slowRate) {
    const sat = results.fanout.filter((r) => (r.target === 'ws-reference' || r.target === 'ws-project') && r.clients === clients && r.best).map((r) => r.best.rate);
    const subs = (clients * plan.perClient) / ctx.symbols.length;
    ctx.slowRate = sat.length ? Math.round(Math.min(...sat) * 0.5) : Math.round(20_000 / subs);
  }
  const rate = ctx.slowRate;
  const slow = (i) => i % 10 === 0;
  const server = await spec.start(ctx);
  try {
    await source.run({ rate: ctx.symbols.length * 4, startAt: Date.now() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0 }); // prime every symbol
    const setup = await gen.connect({ port: server.port, path: spec.path, transport: spec.transport, clients, perClient: plan.perClient, symbols: ctx.symbols, slow, slowPerClient: SLOW_SUBSCRIPTIONS });
    log(`${target}: ${setup.ready}/${clients} connected (${Math.ceil(clients / 10)} will stall, ${SLOW_SUBSCRIPTIONS} symbols each)`);
    const startRss = procStat(server.pid).rss;
    const baseline = await runStep({ gen, source, server, rate, warmupMs: 500, windowMs: 2_000 });
    log(`${target}: baseline at R=${rate}/s p99 ${baseline.p99} ms delivered ${(baseline.deliveredRatio * 100).toFixed(1)}%`);
    await gen.stall();
    const windows = [];
    const rss = [];
    const windowMs = 3_000;
    const count = Math.max(2, Math.round((seconds * 1000) / windowMs));
    for (let k = 0; k < count; k++) {
      const s = await runStep({ gen, source, server, rate, warmupMs: 0, windowMs, drainMs: 1_000, settleMs: 2_000, sampleRss: 500 });
      const offset = windows.length * (windowMs + 1);
      for (const x of s.rssSamples ?? []) rss.push({ t: round(offset + x.t, 1), rssMB: round(x.rss / 2 ** 20, 1) });
      windows.push(s);
      log(`${target}: stalled window ${k + 1}/${count}: others p99 ${s.p99} ms delivered ${(s.deliveredRatio * 100).toFixed(1)}%, server RSS ${s.serverRssMB} MB`);
    }
    await sleep(200);
    const endRss = procStat(server.pid)?.rss ?? null;
    const rssValues = rss.map((x) => x.rssMB);
    return {
      target,
      clients,
      slowClients: Math.ceil(clients / 10),
      slowSubscriptions: SLOW_SUBSCRIPTIONS,
      rate,
      setupFailed: setup.failed,
      baseline: { p99: baseline.p99, deliveredRatio: baseline.deliveredRatio },
      during: {
        p99Median: median(windows.map((w) => w.p99)),
        p99Max: Math.max(...windows.map((w) => w.p99 ?? 0)),
        deliveredMin: Math.min(...windows.map((w) => w.deliveredRatio ?? 0)),
        windows: windows.map((w) => ({ p99: w.p99, deliveredRatio: w.deliveredRatio, serverRssMB: w.serverRssMB, serverCpuPct: w.serverCpuPct })),
      },
      rss: { startMB: round(startRss / 2 ** 20, 1), maxMB: rssValues.length ? Math.max(...rssValues) : null, endMB: endRss ? round(endRss / 2 ** 20, 1) : null, timeline: rss },
      slowClosed: windows.at(-1)?.unexpectedCloses ?? 0,
    };
  } finally {
    await gen.disconnect().catch(() => {});
    await server.stop();
  }
}
