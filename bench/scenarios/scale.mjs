// Scale (issue 16): many idle connections on one instance, and a large catalog.
//
// 1. Connections: C idle raw-WebSocket clients (50,000; 5,000 quick), each subscribed to 5 of the 500 bench
//    symbols (as in the fan-out groups), to ONE project server (dist/main.js) and then, after it is stopped, to the
//    bus-less ws reference (one after the other, to bound memory). Measured: the time to accept and subscribe all
//    of them (connections/s), failures, the server's RSS and heap per connection (after two full GCs, through the
//    preloaded probe, before and after the clients connected), and the project / reference ratio. One loopback
//    source address gives only about 28,000 ephemeral ports (net.ipv4.ip_local_port_range), so the clients are
//    spread over several source addresses (Linux routes all of 127/8 to lo; each run picks its own). The clients
//    close with an RST, so their bound ports do not sit in TIME_WAIT (where they would also keep every connect()
//    on the machine from those ports for a minute). The kernel's listen-queue overflow counters are read before
//    and after. The server needs an open-files limit above C (run.mjs raises it where allowed); when it cannot be
//    raised, the part runs at the largest C that fits (or is skipped below 1,000) and says why.
// 2. Symbols: S symbols (10,000; 2,000 quick) in the catalog. A fresh project server; clients subscribe one symbol
//    at a time (25 clients at once) to symbols spread over all S, and each subscribe is timed to its `subscribed`
//    reply and to its snapshot (`asset_update`). First "cold": before any price was seen on the bus, so the hub
//    looks each price up (LatestPriceSource: Redis, then the assets table). Then one tick per symbol is published
//    on the bus (as a running feed would have sent), and "primed": every symbol once, from memory. Where each
//    snapshot came from is read from its `source` ('bench' = a bus tick, 'bench-db' = the assets row), and the
//    reads of the assets table are counted (pg_stat_user_tables). The bus-less reference sends no snapshot: it
//    is timed to its `subscribed` reply only, with the same symbols in its ticker.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { summariseProfile } from '../lib/cpuprofile.mjs';
import { benchSymbols, deleteBenchAssets, insertBenchAssets, pgQuery } from '../lib/env.mjs';
import { InProcessSource, LoadGenerator, Source } from '../lib/fanout.mjs';
import { cpuPercent, machineBusyPct, machineCpu, nowMs, openFileLimits, procStat, sleep } from '../lib/proc.mjs';
import { TARGETS } from '../lib/servers.mjs';
import { percentile, ratio, round } from '../lib/stats.mjs';

const cores = cpus().length;
/** Open files a server needs besides its clients (database, Redis, logs, the runtime's own). */
const SERVER_FD_MARGIN = 1_000;
/** The snapshot symbols are visited in this stride (prime, coprime with 10,000 and 2,000): spread over the whole catalog. */
const STRIDE = 7_919;
const PROFILE = (process.env.BENCH_PROFILE ?? '').split(',').includes('scale');
/** PostgreSQL 15+ publishes a backend's pending table statistics at least this often (PGSTAT_IDLE_INTERVAL, plus a margin). */
const STATS_FLUSH_MS = 10_500;
/** The snapshot symbols' stored price says where a snapshot came from ('bench' is what the bus source sends). */
const DB_SOURCE = 'bench-db';

/**
 * `plan`: { clients, perClient, perAddress, workers, concurrency, deadlineMs, symbols, snapshotClients,
 * snapshotsPerClient, parallel, coldSubscribes }. Errors of one part are recorded (results.errors) and the
 * other part still runs.
 */
export async function runScale(ctx, plan, results) {
  const out = { quick: ctx.quick, kernel: kernelSettings(), openFiles: openFileLimits(), connections: null, symbols: null };
  ctx.log(
    `scale: open files ${out.openFiles.soft} (hard ${out.openFiles.hard}); ip_local_port_range ${out.kernel.portRange.join('-')}; somaxconn ${out.kernel.somaxconn}; tcp_max_syn_backlog ${out.kernel.tcpMaxSynBacklog}`,
  );
  for (const [part, fn] of [
    ['connections', () => connectionsPart(ctx, plan, out)],
    ['symbols', () => symbolsPart(ctx, plan)],
  ]) {
    const t0 = nowMs();
    const c0 = machineCpu();
    try {
      out[part] = await fn();
    } catch (err) {
      ctx.log(`!! scale ${part} failed: ${err.stack ?? err}`);
      results.errors.push(`scale ${part}: ${String(err.message ?? err).split('\n')[0]}`);
      out[part] = { error: String(err.message ?? err).split('\n')[0] };
    }
    out[part].elapsedSec = round((nowMs() - t0) / 1000, 1);
    out[part].machineBusyPct = machineBusyPct(c0, machineCpu());
  }
  return out;
}

// ---------- 1. idle connections ----------

async function connectionsPart(ctx, plan, out) {
  const planned = plan.clients;
  const need = planned + SERVER_FD_MARGIN;
  const { soft, hard } = out.openFiles;
  // One process (the server) holds every client's socket: C must fit under its open-files limit. When it does
  // not (a hard limit that cannot be raised here), measure at the largest C that fits, and say so.
  let clients = planned;
  let limitedBy = null;
  if (soft < need) {
    const fit = Math.floor((soft - SERVER_FD_MARGIN) / 1_000) * 1_000;
    limitedBy = `${planned} connections not possible here: the open-files limit is ${soft} (hard ${hard}) and one server needs about ${need} (raising the hard limit needs root with CAP_SYS_RESOURCE; run.mjs tries)`;
    if (fit < Math.min(planned, 1_000)) {
      ctx.log(`scale: ${limitedBy}; skipped`);
      return { plannedClients: planned, clients: 0, skipped: `skipped: ${limitedBy}` };
    }
    clients = fit;
    ctx.log(`scale: ${limitedBy}; measuring ${clients} instead`);
  }
  // Each load-generator worker holds its share of the clients, under the same limit.
  const workers = Math.max(plan.workers, Math.ceil(clients / (soft - SERVER_FD_MARGIN)));
  const [lo, hi] = out.kernel.portRange;
  const ports = hi - lo + 1;
  const perAddress = Math.max(1_000, Math.min(plan.perAddress, Math.floor(ports * 0.7)));
  const addressCount = Math.max(1, Math.ceil(clients / perAddress));
  // Source addresses of this run: 127.<pid-based>.<target>.<k>; a previous run's TIME_WAIT ports stay on other addresses.
  const octet = 100 + (process.pid % 100);
  const addressesOf = (t) => Array.from({ length: addressCount }, (_, k) => `127.${octet}.${t}.${k + 1}`);

  const gen = new LoadGenerator(workers);
  const source = await Source.start({ redisUrl: ctx.redisUrl, prefix: ctx.prefix, symbols: ctx.symbols });
  const runs = [];
  try {
    for (const [t, name] of ['ws-project', 'ws-reference-busless'].entries()) {
      runs.push(await connectTarget(ctx, { ...plan, clients }, { name, gen, source, addresses: addressesOf(t + 1) }));
    }
  } finally {
    await source.close();
    await gen.close();
  }
  const p = runs.find((r) => r.target === 'ws-project');
  const b = runs.find((r) => r.target === 'ws-reference-busless');
  return {
    plannedClients: planned,
    clients,
    limitedBy,
    perClient: plan.perClient,
    addressCount,
    perAddress: Math.ceil(clients / addressCount),
    workers,
    concurrency: plan.concurrency * workers,
    runs,
    ratio: {
      rss: ratio(p?.memory?.rssPerConnKB, b?.memory?.rssPerConnKB),
      heap: ratio(p?.memory?.heapPerConnKB, b?.memory?.heapPerConnKB),
      setupRate: ratio(p?.setup?.setupRate, b?.setup?.setupRate),
    },
  };
}

async function connectTarget(ctx, plan, { name, gen, source, addresses }) {
  const spec = TARGETS[name];
  const prefix = `${ctx.prefix}scale-${name}:`;
  const server = await spec.start(ctx, { prefix });
  ctx.log(`scale ${name}: started in ${round(server.startMs)} ms (pid ${server.pid}); ${plan.clients} clients from ${addresses.join(', ')}`);
  try {
    // As in the fan-out groups: every symbol ticked once before the clients come, so the snapshots come from memory.
    const src = spec.reference === 'busless' ? await InProcessSource.start(server, { symbols: ctx.symbols }) : source;
    await src.run({ rate: ctx.symbols.length * 4, startAt: nowMs() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0, prefix });
    await sleep(700);
    const m0 = await server.memory();
    const k0 = netCounters();
    const c0 = machineCpu();
    const s0 = procStat(server.pid);
    const g0 = gen.workers.map((w) => procStat(w.pid));
    const setup = await gen.connect({
      port: server.port,
      path: spec.path,
      transport: 'ws',
      clients: plan.clients,
      perClient: plan.perClient,
      symbols: ctx.symbols,
      localAddresses: addresses,
      concurrency: plan.concurrency,
      deadlineMs: plan.deadlineMs,
    });
    const c1 = machineCpu();
    const s1 = procStat(server.pid);
    const g1 = gen.workers.map((w) => procStat(w.pid));
    const k1 = netCounters();
    ctx.log(
      `scale ${name}: ${setup.ready}/${plan.clients} connected+subscribed in ${setup.elapsedMs} ms (${setup.setupRate}/s), failed ${setup.failed}`,
      setup.failed ? JSON.stringify(setup.failures) : '',
    );
    await sleep(1_000);
    const m1 = await server.memory();
    const fds = countFds(server.pid);
    const serverCpuPct = cpuPercent(s0, s1);
    const genCpuPct = g0.reduce((a, x, i) => a + (cpuPercent(x, g1[i]) ?? 0), 0);
    const busy = machineBusyPct(c0, c1);
    const memory = {
      rssBeforeMB: round(m0.rss / 2 ** 20, 1),
      rssAfterMB: round(m1.rss / 2 ** 20, 1),
      heapBeforeMB: round(m0.heapUsed / 2 ** 20, 1),
      heapAfterMB: round(m1.heapUsed / 2 ** 20, 1),
      rssPerConnKB: setup.ready ? round((m1.rss - m0.rss) / setup.ready / 1024, 2) : null,
      heapPerConnKB: setup.ready ? round((m1.heapUsed - m0.heapUsed) / setup.ready / 1024, 2) : null,
    };
    ctx.log(
      `scale ${name}: RSS ${memory.rssBeforeMB} -> ${memory.rssAfterMB} MB, ${memory.rssPerConnKB} KB RSS and ${memory.heapPerConnKB} KB heap per connection; ${fds} open files; machine ${busy}% busy`,
    );
    return {
      target: name,
      reference: spec.reference ?? null,
      startMs: round(server.startMs),
      addresses,
      setup,
      memory,
      serverFds: fds,
      listenOverflows: k1 && k0 ? k1.ListenOverflows - k0.ListenOverflows : null,
      listenDrops: k1 && k0 ? k1.ListenDrops - k0.ListenDrops : null,
      serverCpuPct: round(serverCpuPct, 1),
      generatorCpuPct: round(genCpuPct, 1),
      machineBusyPct: busy,
      foreignCpuPct: busy == null ? null : round(Math.max(0, busy * cores - (serverCpuPct ?? 0) - genCpuPct), 1),
    };
  } finally {
    // RST, not FIN: no TIME_WAIT on the bound source ports (they would block ephemeral ports machine-wide for a minute).
    await gen.disconnect({ reset: true }).catch((e) => ctx.log('scale disconnect:', e.message));
    await server.stop();
  }
}

// ---------- 2. a large catalog: snapshots on subscribe ----------

async function symbolsPart(ctx, plan) {
  const n = plan.symbols;
  const symbols = benchSymbols(n, 'SC', 5);
  const t0 = nowMs();
  await insertBenchAssets(ctx.databaseUrl, symbols, { source: DB_SOURCE });
  ctx.log(`scale: ${n} assets inserted in ${round(nowMs() - t0)} ms`);
  const source = await Source.start({ redisUrl: ctx.redisUrl, prefix: ctx.prefix, symbols });
  const perClient = plan.snapshotsPerClient;
  // Every symbol once (primed), in a stride over the whole catalog; the cold subscribes take another stride of it.
  const primedOrder = Array.from({ length: Math.min(n, plan.snapshotClients * perClient) }, (_, k) => symbols[(k * STRIDE) % n]);
  const coldOrder = Array.from({ length: Math.min(n, plan.coldSubscribes) }, (_, k) => symbols[(k * STRIDE + 1) % n]);
  const prime = (src, prefix) =>
    src.run({ rate: n * 4, startAt: nowMs() + 20, durationMs: 300, tickMs: 10, t0: 0, t1: 0, prefix }).then(async (r) => {
      await sleep(700);
      return r;
    });
  try {
    const project = await (async () => {
      const spec = TARGETS['ws-project'];
      const prefix = `${ctx.prefix}scale-symbols:`;
      const server = await spec.start(ctx, { prefix });
      const url = `ws://127.0.0.1:${server.port}${spec.path}`;
      try {
        const m0 = await server.memory();
        // A backend publishes its table statistics only every PGSTAT_IDLE_INTERVAL (10 s, PostgreSQL 15+) while
        // it is in use: wait that long around each phase; the primed phase's reads are published when the server
        // (its pool) has gone.
        await sleep(STATS_FLUSH_MS);
        const rs = await assetReads(ctx.databaseUrl);
        // The first subscribe loads the catalog (AssetCatalogService: the whole assets table, again every 60 s).
        const first = await measureSubscribes(url, [symbols[0]], { perClient: 1, parallel: 1, snapshot: true });
        await sleep(STATS_FLUSH_MS);
        const r0 = await assetReads(ctx.databaseUrl);
        first.db = readsBetween(rs, r0);
        const cold = await measureSubscribes(url, coldOrder, { perClient, parallel: plan.parallel, snapshot: true, pid: server.pid });
        await sleep(STATS_FLUSH_MS);
        const r1 = await assetReads(ctx.databaseUrl);
        cold.db = readsBetween(r0, r1);
        ctx.log(`scale symbols project cold: ${describePhase(cold)}`);
        const sent = await prime(source, prefix);
        const m1 = await server.memory();
        // BENCH_PROFILE=scale: a CPU profile of the project over the primed subscribes (hottest functions in the log).
        const profile = PROFILE ? join(ctx.logDir, 'prof-scale-subscribes.cpuprofile') : null;
        if (profile) await server.call('probe:prof-start', {}, 10_000);
        const primed = await measureSubscribes(url, primedOrder, { perClient, parallel: plan.parallel, snapshot: true, pid: server.pid });
        if (profile) await logProfile(ctx, server, profile);
        const status = await hubStatus(server.port);
        await server.stop();
        await sleep(500);
        primed.db = readsBetween(r1, await assetReads(ctx.databaseUrl));
        ctx.log(`scale symbols project primed (${sent.sent} ticks on the bus): ${describePhase(primed)}`);
        return {
          target: 'ws-project',
          startMs: round(server.startMs),
          primeTicks: sent.sent,
          memory: {
            rssBeforeMB: round(m0.rss / 2 ** 20, 1),
            rssPrimedMB: round(m1.rss / 2 ** 20, 1),
            heapBeforeMB: round(m0.heapUsed / 2 ** 20, 1),
            heapPrimedMB: round(m1.heapUsed / 2 ** 20, 1),
          },
          first,
          cold,
          primed,
          status,
        };
      } finally {
        await server.stop();
      }
    })();
    const reference = await (async () => {
      const spec = TARGETS['ws-reference-busless'];
      const server = await spec.start(ctx, { prefix: `${ctx.prefix}scale-symbols-ref:` });
      try {
        const ticker = await InProcessSource.start(server, { symbols });
        await prime(ticker);
        const primed = await measureSubscribes(`ws://127.0.0.1:${server.port}${spec.path}`, primedOrder, {
          perClient,
          parallel: plan.parallel,
          snapshot: false,
          pid: server.pid,
        });
        ctx.log(`scale symbols bus-less reference (subscribed reply only; it sends no snapshot): ${describePhase(primed)}`);
        return { target: 'ws-reference-busless', startMs: round(server.startMs), primed };
      } finally {
        await server.stop();
      }
    })();
    return {
      symbols: n,
      parallel: plan.parallel,
      perClient,
      project,
      reference,
      ackRatio: { p50: ratio(project.primed.ackP50, reference.primed.ackP50), p99: ratio(project.primed.ackP99, reference.primed.ackP99) },
    };
  } finally {
    await source.close();
    await deleteBenchAssets(ctx.databaseUrl, symbols).catch((e) => ctx.log('scale: removing the assets failed:', e.message));
  }
}

/**
 * Subscribes to `order` one symbol at a time per client (`perClient` symbols each, `parallel` clients at once;
 * each client connects when its turn comes, so none sits idle long enough to be closed). Per subscribe: ms to its
 * `subscribed` reply and (snapshot) to the `asset_update` of that symbol, and that update's `source`.
 */
async function measureSubscribes(url, order, { perClient, parallel, snapshot, pid, timeoutMs = 10_000 }) {
  const acks = [];
  const snaps = [];
  const sources = {};
  const failures = {};
  let timeouts = 0;
  const fail = (msg) => (failures[msg.slice(0, 120)] = (failures[msg.slice(0, 120)] ?? 0) + 1);
  const chunks = [];
  for (let i = 0; i < order.length; i += perClient) chunks.push(order.slice(i, i + perClient));
  let next = 0;
  const s0 = pid ? procStat(pid) : null;
  const t0 = performance.now();
  const runner = async () => {
    while (next < chunks.length) {
      const mine = chunks[next++];
      let client;
      try {
        client = await openClient(url, timeoutMs);
      } catch (err) {
        fail(`connect: ${err.message}`);
        continue;
      }
      try {
        for (const [j, symbol] of mine.entries()) {
          const r = await client.subscribe(symbol, `s${j}`, snapshot, timeoutMs);
          if (r.error) {
            if (r.timeout) timeouts++;
            fail(r.error);
          }
          if (r.ackMs != null) acks.push(r.ackMs);
          if (r.snapMs != null) {
            snaps.push(r.snapMs);
            sources[r.source] = (sources[r.source] ?? 0) + 1;
          }
        }
      } finally {
        client.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, chunks.length) }, runner));
  const elapsedMs = performance.now() - t0;
  const s1 = pid ? procStat(pid) : null;
  const serverCpuMs = s0 && s1 ? s1.cpuMs - s0.cpuMs : null;
  return {
    subscribes: order.length,
    acked: acks.length,
    ackP50: round(percentile(acks, 50), 2),
    ackP99: round(percentile(acks, 99), 2),
    ackMax: acks.length ? round(Math.max(...acks), 2) : null,
    snapshots: snapshot ? snaps.length : null,
    snapP50: snapshot ? round(percentile(snaps, 50), 2) : null,
    snapP99: snapshot ? round(percentile(snaps, 99), 2) : null,
    snapMax: snapshot && snaps.length ? round(Math.max(...snaps), 2) : null,
    fromBus: snapshot ? (sources.bench ?? 0) : null,
    fromDatabase: snapshot ? (sources[DB_SOURCE] ?? 0) : null,
    sources: snapshot ? sources : null,
    timeouts,
    failures,
    elapsedMs: round(elapsedMs),
    perSec: round((acks.length * 1000) / elapsedMs),
    // Server CPU over the phase (connects of the clients included) per subscribe.
    serverCpuPct: serverCpuMs == null ? null : round((100 * serverCpuMs) / elapsedMs, 1),
    serverUsPerSubscribe: serverCpuMs == null || !acks.length ? null : round((serverCpuMs * 1000) / acks.length, 1),
  };
}

/** One WebSocket client (the `ws` package) that times subscribe -> `subscribed` and -> that symbol's snapshot. */
function openClient(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let pending = null;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
      pending?.done({ error: `socket: ${err.message}` });
    });
    ws.on('close', () => pending?.done({ error: 'closed during a subscribe' }));
    ws.on('message', (raw) => {
      if (!pending) return;
      let msg;
      try {
        msg = JSON.parse(raw);
      } catch {
        return;
      }
      const now = performance.now();
      if (msg.type === 'subscribed' && msg.id === pending.id) {
        pending.ackMs = now - pending.t0;
        if (!pending.snapshot) pending.done({});
      } else if (msg.type === 'error' && (msg.id === pending.id || msg.id === undefined)) {
        pending.done({ error: `error reply: ${msg.data?.code ?? ''} ${msg.data?.message ?? ''}` });
      } else if (msg.type === 'asset_update' && msg.data?.symbol === pending.symbol && pending.snapshot) {
        pending.done({ snapMs: now - pending.t0, source: String(msg.data.source) });
      }
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve({
        subscribe(symbol, id, snapshot, ms) {
          return new Promise((done) => {
            const p = { symbol, id, snapshot, t0: performance.now(), ackMs: null };
            const t = setTimeout(
              () => p.done({ error: snapshot && p.ackMs != null ? 'no snapshot within the timeout' : 'no reply within the timeout', timeout: true }),
              ms,
            );
            p.done = (r) => {
              if (pending !== p) return;
              clearTimeout(t);
              pending = null;
              done({ ackMs: p.ackMs, ...r });
            };
            pending = p;
            ws.send(JSON.stringify({ type: 'subscribe_asset', data: { symbol }, id }));
          });
        },
        close() {
          ws.terminate();
        },
      });
    });
  });
}

function describePhase(p) {
  const snap = p.snapshots == null ? '' : `; snapshot p50 ${p.snapP50} p99 ${p.snapP99} ms, ${p.snapshots} received (${JSON.stringify(p.sources)})`;
  const db = p.db ? `; assets table: ${p.db.idxScans} index scans, ${p.db.seqScans} full scans` : '';
  const bad = p.timeouts || Object.keys(p.failures).length ? `; failures ${JSON.stringify(p.failures)}` : '';
  return `${p.acked}/${p.subscribes} subscribed in ${p.elapsedMs} ms (${p.perSec}/s, server CPU ${p.serverCpuPct}%, ${p.serverUsPerSubscribe} µs per subscribe); reply p50 ${p.ackP50} p99 ${p.ackP99} ms${snap}${db}${bad}`;
}

/** Scans of the assets table so far (PostgreSQL's cumulative statistics). */
async function assetReads(url) {
  const { rows } = await pgQuery(
    url,
    `SELECT seq_scan, COALESCE(idx_scan, 0) AS idx_scan, seq_tup_read, COALESCE(idx_tup_fetch, 0) AS idx_tup_fetch
       FROM pg_stat_user_tables WHERE relname = 'assets' AND schemaname = current_schema()`,
  );
  const r = rows[0] ?? {};
  return { seq: Number(r.seq_scan ?? 0), idx: Number(r.idx_scan ?? 0), rows: Number(r.seq_tup_read ?? 0) + Number(r.idx_tup_fetch ?? 0) };
}

const readsBetween = (a, b) => ({ seqScans: b.seq - a.seq, idxScans: b.idx - a.idx, rowsRead: b.rows - a.rows });

async function hubStatus(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/realtime/status/`, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return null;
    const body = await res.json();
    return { connections: body.global_stats?.total_connections ?? null, cachedSymbols: body.price_feed?.cache?.cached_symbols ?? null };
  } catch {
    return null;
  }
}

async function logProfile(ctx, server, file) {
  await server.call('probe:prof-stop', { file }, 60_000);
  const prof = summariseProfile(JSON.parse(readFileSync(file, 'utf8')), { root: ctx.dist.replace(/dist$/, '') });
  ctx.log(`scale: CPU profile of the project over the primed subscribes ${file}; busy shares ${JSON.stringify(prof.share)}`);
  for (const t of prof.top.slice(0, 25)) ctx.log(`   ${String(t.selfPct).padStart(5)}%  ${t.fn}`);
}

// ---------- machine facts ----------

function readNumbers(path) {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return null;
  }
}

function kernelSettings() {
  return {
    portRange: readNumbers('/proc/sys/net/ipv4/ip_local_port_range') ?? [32768, 60999],
    somaxconn: readNumbers('/proc/sys/net/core/somaxconn')?.[0] ?? null,
    tcpMaxSynBacklog: readNumbers('/proc/sys/net/ipv4/tcp_max_syn_backlog')?.[0] ?? null,
    tcpMaxTwBuckets: readNumbers('/proc/sys/net/ipv4/tcp_max_tw_buckets')?.[0] ?? null,
    nrOpen: readNumbers('/proc/sys/fs/nr_open')?.[0] ?? null,
    // Node listens with a backlog of 511; the kernel caps it at somaxconn.
    listenBacklog: Math.min(511, readNumbers('/proc/sys/net/core/somaxconn')?.[0] ?? 511),
  };
}

/** TcpExt counters of the network namespace (ListenOverflows: accept queue full; ListenDrops: SYNs dropped). */
function netCounters() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i].split(/\s+/).slice(1);
    const values = lines[i + 1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((n, k) => [n, values[k]]));
  } catch {
    return null;
  }
}

function countFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}
