// The printed report (markdown) and the verdict per target of issues 6 and 16. Every goal that compares
// with a reference prints the ratio against both references of the run: the Redis-fed one (prices from the
// bench's Redis source, like the project) and the bus-less one (prices ticked in its own process).
import { fmt, markdownTable, ratio, round } from './stats.mjs';

/** The references of each server: Redis-fed and bus-less (bench/lib/servers.mjs). */
const REFS = {
  ws: { redis: 'ws-reference', busless: 'ws-reference-busless' },
  sio: { redis: 'sio-reference', busless: 'sio-reference-busless' },
};
const REF_LABEL = { redis: 'Redis-fed reference', busless: 'bus-less reference' };

const find = (results, target, clients) => results.fanout.find((r) => r.target === target && (clients === undefined || r.clients === clients));
const largestPair = (results, project, reference) => {
  const pairs = results.fanout
    .filter((r) => r.target === project && r.memory?.rssPerConnKB != null)
    .map((p) => [p, find(results, reference, p.clients)])
    .filter(([, r]) => r?.memory?.rssPerConnKB != null);
  return pairs.sort((a, b) => b[0].clients - a[0].clients)[0] ?? [];
};

/**
 * `p` against reference row `r`: deliveries/s, server CPU per delivery and p99 at the group's common rate,
 * each with its ratio (p / r). Empty when the reference was not measured.
 */
function versus(p, r, kind) {
  if (!r) return '';
  const parts = [`${fmt(r.best?.deliveriesPerSec) ?? '–'}/s = ${ratio(p?.best?.deliveriesPerSec, r.best?.deliveriesPerSec) ?? '–'}x`];
  parts.push(`CPU/delivery ${r.best?.serverUsPerDelivery ?? '–'} µs = ${ratio(p?.best?.serverUsPerDelivery, r.best?.serverUsPerDelivery) ?? '–'}x`);
  if (p?.atRate && r.atRate?.rate === p.atRate.rate)
    parts.push(`p99 at ${fmt(p.atRate.rate)} ticks/s ${r.atRate.p99 ?? '–'} ms = ${ratio(p.atRate.p99, r.atRate.p99) ?? '–'}x`);
  return `vs ${REF_LABEL[kind]} ${parts.join(', ')}`;
}

/** Memory of `p` against reference row `r` (RSS per connection from C=5,000, heap below it). */
function memoryRatio(p, r) {
  const byHeap = p.clients < 5_000;
  return byHeap ? ratio(p.memory?.heapPerConnKB, r?.memory?.heapPerConnKB) : ratio(p.memory?.rssPerConnKB, r?.memory?.rssPerConnKB);
}
function memoryVersus(p, r, kind) {
  if (!r) return '';
  return p.clients < 5_000
    ? `vs ${REF_LABEL[kind]} heap ${r.memory?.heapPerConnKB ?? '–'} KB = ${memoryRatio(p, r) ?? '–'}x (RSS ${r.memory?.rssPerConnKB ?? '–'} KB)`
    : `vs ${REF_LABEL[kind]} ${r.memory?.rssPerConnKB ?? '–'} KB RSS = ${memoryRatio(p, r) ?? '–'}x (heap ${r.memory?.heapPerConnKB ?? '–'} KB)`;
}
const joined = (...parts) => parts.filter(Boolean).join('; ');
const atLoadLine = (x) =>
  `${fmt(x.atLoad.rate)} ticks/s: p99 ${x.atLoad.p99 ?? '–'} ms (p50 ${x.atLoad.p50 ?? '–'}, ${round(x.atLoad.deliveredRatio * 100, 1)}% delivered, median of ${x.atLoad.runs}; server loop delay p99 ${x.atLoad.loopDelayP99 ?? '–'} max ${x.atLoad.loopDelayMax ?? '–'} ms, GC max ${x.atLoad.gcMaxMs ?? '–'} ms${x.atLoad.serverFanout ? `; bus publish to frame written: p99 <= ${x.atLoad.serverFanout.p99AtMostMs} ms, ${round(x.atLoad.serverFanout.within5ms * 100, 1)}% within 5 ms` : ''})`;
const head = (p) =>
  `C=${p.clients}: ${fmt(p.best?.deliveriesPerSec) ?? '–'}/s (p99 ${p.best?.p99 ?? '–'} ms), CPU/delivery ${p.best?.serverUsPerDelivery ?? '–'} µs`;

/** One line per target: what it asks, what was measured, and whether it is met. */
export function evaluateTargets(results) {
  const out = [];
  const add = (id, goal, measured, met) => out.push({ id, goal, measured, status: met === null ? 'not measured' : met ? 'met' : 'missed' });

  for (const [id, proj, transport, clients, label] of [
    ['ws-fanout', 'ws-project', 'ws', 5_000, 'raw WebSocket'],
    ['sio-fanout', 'sio-project', 'sio', 5_000, 'Socket.IO'],
  ]) {
    const ref = REFS[transport].redis;
    let p = find(results, proj, clients);
    let r = find(results, ref, clients);
    if (!p?.best || !r?.best) {
      // quick runs measure a smaller C: report that one
      p = results.fanout.find((x) => x.target === proj && x.best) ?? p;
      r = p ? find(results, ref, p.clients) : r;
    }
    const q = ratio(p?.best?.deliveriesPerSec, r?.best?.deliveriesPerSec);
    const b = p ? find(results, REFS[transport].busless, p.clients) : null;
    add(
      id,
      `${label} saturated deliveries/s >= 0.9x reference at C=${clients}, p99 < 100 ms`,
      p && r ? joined(head(p), versus(p, r, 'redis'), versus(p, b, 'busless')) : 'not run',
      p && r ? q !== null && q >= 0.9 && p.best.p99 < 100 : null,
    );
  }
  // Issue 16: against the bus-less reference, at each C.
  for (const [id, proj, transport, clients, label] of [
    ['ws-busless-5000', 'ws-project', 'ws', 5_000, 'raw WebSocket'],
    ['ws-busless-1000', 'ws-project', 'ws', 1_000, 'raw WebSocket'],
    ['sio-busless-5000', 'sio-project', 'sio', 5_000, 'Socket.IO'],
    ['sio-busless-1000', 'sio-project', 'sio', 1_000, 'Socket.IO'],
  ]) {
    const p = find(results, proj, clients);
    const b = find(results, REFS[transport].busless, clients);
    const r = find(results, REFS[transport].redis, clients);
    const qd = ratio(p?.best?.deliveriesPerSec, b?.best?.deliveriesPerSec);
    const qc = ratio(p?.best?.serverUsPerDelivery, b?.best?.serverUsPerDelivery);
    add(
      id,
      `${label} server CPU per delivery <= 1.0x and saturated deliveries/s >= 0.95x the bus-less reference at C=${fmt(clients)}, p99 < 100 ms`,
      p && b ? joined(head(p), versus(p, b, 'busless'), versus(p, r, 'redis')) : 'not run',
      p && b ? qd !== null && qc !== null && qd >= 0.95 && qc <= 1 && p.best.p99 < 100 : null,
    );
  }
  // Issue 16: latency under load, at 75% of the bus-less reference's saturation rate.
  for (const [id, proj, transport, clients, label] of [
    ['ws-latency-5000', 'ws-project', 'ws', 5_000, 'raw WebSocket'],
    ['ws-latency-1000', 'ws-project', 'ws', 1_000, 'raw WebSocket'],
    ['sio-latency-5000', 'sio-project', 'sio', 5_000, 'Socket.IO'],
    ['sio-latency-1000', 'sio-project', 'sio', 1_000, 'Socket.IO'],
  ]) {
    const p = find(results, proj, clients);
    const b = find(results, REFS[transport].busless, clients);
    const r = find(results, REFS[transport].redis, clients);
    const ok = p?.atLoad && b?.atLoad?.rate === p.atLoad.rate;
    const q = ok ? ratio(p.atLoad.p99, b.atLoad.p99) : null;
    add(
      id,
      `${label} p99 at 75% of the bus-less reference's saturation rate <= 1.5x its p99 at C=${fmt(clients)}`,
      ok ? joined(atLoadLine(p), `bus-less reference ${atLoadLine(b)} = ${q ?? '–'}x`, r?.atLoad ? `Redis-fed reference ${atLoadLine(r)}` : '') : 'not run',
      ok ? q !== null && q <= 1.5 : null,
    );
  }
  {
    const b = results.batched;
    const r = b ? find(results, b.vs ?? 'ws-reference', b.clients) : null;
    const bl = b ? find(results, b.vsBusless ?? 'ws-reference-busless', b.clients) : null;
    const q = ratio(b?.best?.deliveriesPerSec, r?.best?.deliveriesPerSec);
    const qb = ratio(b?.best?.deliveriesPerSec, bl?.best?.deliveriesPerSec);
    const supported = b?.best && b.best.framesPerSec < b.best.deliveriesPerSec * 0.9;
    const inactive = supported ? '' : ' (server sent one update per frame: batching not active)';
    const bHead = b
      ? `C=${b.clients}: ${fmt(b.best?.deliveriesPerSec) ?? '–'} updates/s in ${fmt(b.best?.framesPerSec) ?? '–'} frames/s (p99 ${b.best?.p99 ?? '–'} ms)`
      : '';
    const vsRedis = r ? `vs Redis-fed reference ${fmt(r.best?.deliveriesPerSec) ?? '–'}/s = ${q ?? '–'}x` : '';
    const vsBusless = bl ? `vs bus-less reference ${fmt(bl.best?.deliveriesPerSec) ?? '–'}/s = ${qb ?? '–'}x` : '';
    add(
      'batched',
      'batched frames (?batch=50ms) >= 2x the reference updates/s at p99 < 100 ms',
      b ? joined(`${bHead}${inactive}`, vsRedis || 'vs Redis-fed reference: not run', vsBusless) : 'not run',
      b && r ? q !== null && q >= 2 && supported : null,
    );
    add(
      'batched-busless',
      "batched frames (?batch=50ms) >= 2x the bus-less reference's saturated deliveries/s at p99 < 100 ms",
      b && bl ? joined(`${bHead}${inactive}`, vsBusless, vsRedis) : 'not run',
      b && bl ? qb !== null && qb >= 2 && supported : null,
    );
  }
  for (const [id, proj, transport, kind, label] of [
    ['ws-memory', 'ws-project', 'ws', 'redis', 'raw WebSocket'],
    ['sio-memory', 'sio-project', 'sio', 'redis', 'Socket.IO'],
    ['ws-memory-busless', 'ws-project', 'ws', 'busless', 'raw WebSocket'],
    ['sio-memory-busless', 'sio-project', 'sio', 'busless', 'Socket.IO'],
  ]) {
    const [p, r] = largestPair(results, proj, REFS[transport][kind]);
    const other = kind === 'redis' ? 'busless' : 'redis';
    const o = p ? find(results, REFS[transport][other], p.clients) : null;
    // Below C=5,000 the RSS difference is mostly allocator noise: compare the heap there (memoryRatio).
    const q = p ? memoryRatio(p, r) : null;
    const own = !p
      ? ''
      : p.clients < 5_000
        ? `C=${p.clients}: heap ${p.memory.heapPerConnKB} KB (RSS ${p.memory.rssPerConnKB} KB is allocator noise at this C)`
        : `C=${p.clients}: ${p.memory.rssPerConnKB} KB RSS (heap ${p.memory.heapPerConnKB} KB)`;
    add(
      id,
      kind === 'redis' ? `${label} memory per idle connection <= 1.3x reference` : `${label} memory per idle connection <= 1.3x the bus-less reference`,
      p ? joined(own, memoryVersus(p, r, kind), memoryVersus(p, o, other)) : 'not run',
      p ? q !== null && q <= 1.3 : null,
    );
  }
  {
    const i = results.ingest?.batches?.find((b) => b.size === 5_000);
    add(
      'ingest',
      'ingest of 5,000 quotes <= 100 ms per batch',
      i ? `${i.medianMs} ms median (${fmt(i.quotesPerSec)} quotes/s)` : (results.ingest?.skipped ?? 'not run'),
      i ? i.medianMs <= 100 : null,
    );
    const big = results.ingest?.batches?.find((b) => b.size === 50_000);
    add(
      'ingest-50000',
      'ingest of 50,000 quotes <= 1 s per batch',
      big
        ? `${big.medianMs} ms median (${fmt(big.quotesPerSec)} quotes/s; ${big.minMs}–${big.maxMs} ms over ${big.runs} runs)`
        : (results.ingest?.skipped ?? 'not run (full run only)'),
      big ? big.medianMs <= 1_000 : null,
    );
  }
  {
    const v = results.valuation;
    const big = v?.positions >= 100_000;
    add(
      'valuation',
      'revaluation after a 500-symbol batch over 100,000 positions <= 20 ms',
      v?.batch
        ? `${v.portfolios} portfolios x ${v.positionsPerPortfolio} positions: ${v.batch.medianMs} ms median after a 500-symbol batch with every portfolio emitted${v.watched ? `, ${v.watched.medianMs} ms with 1 in ${v.watched.watchedEvery} watched` : ''}; ${v.edit?.medianMs ?? '–'} ms after one position edit`
        : (v?.skipped ?? 'not run'),
      v?.batch && big ? v.batch.medianMs <= 20 : null,
    );
  }
  {
    const v = results.valuationFx;
    const big = v?.positions >= 100_000;
    add(
      'valuation-fx',
      'revaluation with currency conversion (EUR portfolios, half their holdings in USD, EURUSD in the batch) over 100,000 positions <= 20 ms',
      v?.batch
        ? `${v.portfolios} portfolios x ${v.positionsPerPortfolio} positions: ${v.batch.medianMs} ms median after a ${v.batchSymbols}-symbol batch moving EURUSD (${v.batch.changed} portfolios converted and emitted)${v.watched ? `, ${v.watched.medianMs} ms with 1 in ${v.watched.watchedEvery} watched` : ''}`
        : (v?.skipped ?? 'not run'),
      v?.batch && big ? v.batch.medianMs <= 20 : null,
    );
  }
  {
    const s = results.startup;
    // `npm start` runs its prestart build first: when it was measured, it is what the target names.
    const startMs = s?.npmStartMs ?? s?.warm?.medianMs;
    add(
      'startup',
      '`npm start` to serving on a warm embedded database <= 5 s',
      s?.warm
        ? `node dist/main.js ${s.warm.medianMs} ms median (cold ${s.coldMs} ms)${s.npmStartMs ? `; npm start incl. its prestart nest build ${s.npmStartMs} ms` : ''}`
        : (s?.skipped ?? 'not run'),
      s?.warm ? startMs <= 5_000 : null,
    );
  }
  // Issue 16, scale (bench/scenarios/scale.mjs): judged at full size only (50,000 connections, 10,000 symbols).
  {
    const c = results.scale?.connections;
    const p = c?.runs?.find((r) => r.target === 'ws-project');
    const b = c?.runs?.find((r) => r.target === 'ws-reference-busless');
    const full = c?.clients >= 50_000;
    const conn = (r) =>
      `${fmt(r.setup.ready)}/${fmt(c.clients)} in ${round(r.setup.elapsedMs / 1000, 1)} s (${fmt(r.setup.setupRate)}/s), ${fmt(r.setup.failed)} failed`;
    const why = c?.skipped ?? c?.error ?? 'not run';
    const limited = c?.limitedBy ? `${c.limitedBy}; measured at C=${fmt(c.clients)} instead` : '';
    add(
      'scale-connections',
      '50,000 idle raw-WebSocket connections on one instance (several loopback source addresses), all accepted and subscribed',
      p
        ? joined(limited, `${conn(p)}, from ${c.addressCount} source address${c.addressCount === 1 ? '' : 'es'}`, b ? `bus-less reference ${conn(b)}` : '')
        : why,
      p && full ? p.setup.ready === c.clients : null,
    );
    add(
      'scale-memory',
      "memory per idle connection at 50,000 connections <= 1.3x the bus-less reference's",
      p?.memory && b?.memory
        ? joined(
            limited,
            `C=${fmt(c.clients)}: ${p.memory.rssPerConnKB} KB RSS (heap ${p.memory.heapPerConnKB} KB)`,
            `vs bus-less reference ${b.memory.rssPerConnKB} KB RSS = ${c.ratio.rss ?? '–'}x (heap ${b.memory.heapPerConnKB} KB = ${c.ratio.heap ?? '–'}x)`,
          )
        : why,
      p?.memory && b?.memory && full ? c.ratio.rss !== null && c.ratio.rss <= 1.3 : null,
    );
  }
  {
    const s = results.scale?.symbols;
    const pr = s?.project?.primed;
    const cold = s?.project?.cold;
    const reads = (x) => (x?.db ? x.db.idxScans + x.db.seqScans : null);
    const fromMemory = pr && pr.snapshots === pr.subscribes && pr.fromBus === pr.subscribes && reads(pr) === 0;
    add(
      'scale-symbols',
      '10,000 symbols in the catalog, snapshots on subscribe from memory',
      pr
        ? joined(
            `${fmt(s.symbols)} symbols, each subscribed once: snapshot p50 ${pr.snapP50 ?? '–'} ms, p99 ${pr.snapP99 ?? '–'} ms; ${fmt(pr.snapshots)}/${fmt(pr.subscribes)} snapshots, ${fmt(pr.fromBus)} of them bus ticks held in memory, ${fmt(pr.fromDatabase)} stored prices, ${reads(pr) ?? '–'} reads of the assets table`,
            cold
              ? `before any tick (cold): p50 ${cold.snapP50 ?? '–'} ms, p99 ${cold.snapP99 ?? '–'} ms, ${fmt(cold.fromDatabase)}/${fmt(cold.subscribes)} stored prices with ${reads(cold) ?? '–'} reads of the assets table (0: from the start-up warm-up in memory)`
              : '',
            s.reference?.primed
              ? `subscribed reply p99 ${pr.ackP99 ?? '–'} ms vs bus-less reference ${s.reference.primed.ackP99 ?? '–'} ms = ${s.ackRatio?.p99 ?? '–'}x`
              : '',
          )
        : (s?.error ?? 'not run'),
      pr && s.symbols >= 10_000 ? fromMemory : null,
    );
  }
  return out;
}

/** Each measured server with each reference of its group ({p, r, kind}); the bus-less reference is compared with the Redis-fed one. */
function fanoutPairs(results) {
  const rows = [...results.fanout, ...(results.batched ? [results.batched] : [])];
  const pairs = [];
  for (const p of rows) {
    for (const [kind, name] of [
      ['redis', p.vs],
      ['busless', p.vsBusless],
    ]) {
      const r = name ? find(results, name, p.clients) : null;
      if (r) pairs.push({ p, r, kind });
    }
  }
  return pairs;
}

export function renderReport(results) {
  const m = results.machine;
  const lines = [];
  lines.push(`## Benchmark ${results.date}${results.quick ? ' (BENCH_QUICK)' : ''}`);
  lines.push('');
  lines.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}, PostgreSQL ${m.postgres ?? '?'}; run took ${results.durationSec ?? '?'} s.`,
  );
  lines.push(
    'Saturation = highest rate with p99 < 100 ms and >= 98% delivered; medians of the repeated windows at that rate. CPU in % of one core; "foreign CPU" is what other processes on the machine used during the windows (noise).',
  );
  lines.push('');
  const fan = [...results.fanout, ...(results.batched ? [results.batched] : [])];
  if (fan.length) {
    lines.push('### Fan-out (S=500 symbols, 5 per client)');
    lines.push('');
    lines.push(
      markdownTable(fan, [
        ['server', (r) => r.target],
        ['C', (r) => fmt(r.clients)],
        ['setup conn/s', (r) => fmt(r.setup?.setupRate)],
        ['sat. rate ticks/s', (r) => (r.best ? fmt(r.best.rate) : r.memoryOnly ? 'n/a' : 'none')],
        ['deliveries/s', (r) => fmt(r.best?.deliveriesPerSec)],
        ['frames/s', (r) => fmt(r.best?.framesPerSec)],
        ['x Redis-fed ref', (r) => r.ratio],
        ['x bus-less ref', (r) => r.ratioBusless],
        ['p50 ms', (r) => r.best?.p50],
        ['p95 ms', (r) => r.best?.p95],
        ['p99 ms', (r) => r.best?.p99],
        ['delivered', (r) => (r.best ? `${round(r.best.deliveredRatio * 100, 1)}%` : null)],
        ['runs ok', (r) => (r.best ? `${r.best.passes}/${r.best.runs}` : null)],
        ['server CPU', (r) => r.best?.serverCpuPct],
        ['server µs/delivery', (r) => r.best?.serverUsPerDelivery],
        ['gen CPU', (r) => r.best?.generatorCpuPct],
        ['foreign CPU', (r) => r.best?.foreignCpuPct],
        ['RSS/conn KB', (r) => r.memory?.rssPerConnKB],
        ['heap/conn KB', (r) => r.memory?.heapPerConnKB],
        ['errors', (r) => (r.setup?.failed ?? 0) + (r.serverErrors ?? 0) + (r.unexpectedCloses ?? 0)],
      ]),
    );
    lines.push('');
  }
  const pairs = fanoutPairs(results);
  if (pairs.length) {
    lines.push('### Ratios to the references (same run, same group; < 1 is cheaper or faster for CPU and p99, > 1 is better for deliveries/s)');
    lines.push('');
    lines.push(
      markdownTable(pairs, [
        ['server', ({ p }) => p.target],
        ['C', ({ p }) => fmt(p.clients)],
        ['against', ({ r, kind }) => `${REF_LABEL[kind]} (${r.target})`],
        [
          'deliveries/s',
          ({ p, r }) =>
            `${fmt(p.best?.deliveriesPerSec) ?? '–'} / ${fmt(r.best?.deliveriesPerSec) ?? '–'} = ${ratio(p.best?.deliveriesPerSec, r.best?.deliveriesPerSec) ?? '–'}x`,
        ],
        [
          'server µs/delivery',
          ({ p, r }) =>
            `${p.best?.serverUsPerDelivery ?? '–'} / ${r.best?.serverUsPerDelivery ?? '–'} = ${ratio(p.best?.serverUsPerDelivery, r.best?.serverUsPerDelivery) ?? '–'}x`,
        ],
        [
          'p99 ms at the same rate',
          ({ p, r }) =>
            p.atRate && r.atRate?.rate === p.atRate.rate
              ? `${p.atRate.p99 ?? '–'} / ${r.atRate.p99 ?? '–'} = ${ratio(p.atRate.p99, r.atRate.p99) ?? '–'}x at ${fmt(p.atRate.rate)} ticks/s`
              : null,
        ],
        [
          'p99 ms at 75% of bus-less saturation',
          ({ p, r }) =>
            p.atLoad && r.atLoad?.rate === p.atLoad.rate
              ? `${p.atLoad.p99 ?? '–'} / ${r.atLoad.p99 ?? '–'} = ${ratio(p.atLoad.p99, r.atLoad.p99) ?? '–'}x at ${fmt(p.atLoad.rate)} ticks/s`
              : null,
        ],
        ['memory/conn', ({ p, r }) => (p.memory && r.memory ? `${memoryRatio(p, r) ?? '–'}x ${p.clients < 5_000 ? 'heap' : 'RSS'}` : null)],
      ]),
    );
    lines.push('');
  }
  if (results.slowConsumers?.length) {
    lines.push('### Slow consumers (10% of clients stop reading; they subscribe to 50 symbols each)');
    lines.push('');
    lines.push(
      markdownTable(results.slowConsumers, [
        ['server', (r) => r.target],
        ['C (slow)', (r) => `${fmt(r.clients)} (${fmt(r.slowClients)})`],
        ['rate ticks/s', (r) => fmt(r.rate)],
        ['others p99 before', (r) => r.baseline?.p99],
        ['others p99 during (median/max)', (r) => `${r.during?.p99Median ?? '–'} / ${r.during?.p99Max ?? '–'}`],
        ['others delivered', (r) => (r.during?.deliveredMin != null ? `${round(r.during.deliveredMin * 100, 1)}% min` : null)],
        ['RSS MB start → max → end', (r) => `${r.rss?.startMB} → ${r.rss?.maxMB} → ${r.rss?.endMB}`],
        ['stalled for', (r) => `${r.stalledSeconds} s`],
        ['hub: max conflated / connections at end', (r) => (r.hub ? `${r.hub.maxConflated} / ${r.hub.connectionsAtEnd}` : 'n/a')],
      ]),
    );
    lines.push('');
  }
  if (results.ingest?.batches) {
    lines.push(`### Ingest (${results.ingest.path})`);
    lines.push('');
    lines.push(
      markdownTable(results.ingest.batches, [
        ['batch', (r) => fmt(r.size)],
        ['median ms', (r) => r.medianMs],
        ['min ms', (r) => r.minMs],
        ['max ms', (r) => r.maxMs],
        ['quotes/s', (r) => fmt(r.quotesPerSec)],
        ['runs', (r) => r.runs],
      ]),
    );
    lines.push('');
  }
  for (const v of [results.valuation, results.valuationFx]) {
    if (!v?.batch) continue;
    lines.push(
      `### Valuation${v.fx ? ' with currency conversion' : ''} (${fmt(v.portfolios)} portfolios x ${v.positionsPerPortfolio} positions = ${fmt(v.positions)} positions${v.fx ? '; EUR portfolios holding USD and EUR symbols, EURUSD in the batch' : ''})`,
    );
    lines.push('');
    lines.push(
      markdownTable(
        [
          { what: `after a ${v.batchSymbols}-symbol price batch`, ...v.batch },
          ...(v.watched ? [{ what: `after the same batch, 1 in ${v.watched.watchedEvery} portfolios watched (setInterest)`, ...v.watched }] : []),
          ...(v.edit ? [{ what: 'after one position edit (DB update + portfolio.changed)', ...v.edit }] : []),
          ...(v.boot ? [{ what: 'engine context boot incl. loading every position', ...v.boot }] : []),
        ],
        [
          ['revaluation', (r) => r.what],
          ['median ms', (r) => r.medianMs],
          ['min ms', (r) => r.minMs],
          ['max ms', (r) => r.maxMs],
          ['portfolios changed', (r) => fmt(r.changed)],
          ['runs', (r) => r.runs],
        ],
      ),
    );
    lines.push('');
  }
  if (results.history) {
    const h = results.history;
    lines.push('### Resume history (REALTIME_HISTORY_SIZE updates per symbol, held by every API instance)');
    lines.push('');
    lines.push(
      `${fmt(h.symbols)} symbols x ${h.capacity} updates: ${fmt(Math.round(h.heapBytes / 1048576))} MiB of heap, ${fmt(h.bytesPerEntry)} B per update, ${fmt(Math.round(h.bytesPerSymbol / 1024))} KiB per symbol.`,
    );
    lines.push('');
  }
  if (results.snapshots) {
    const s = results.snapshots;
    lines.push('### Daily snapshots (5 years of daily value history per portfolio, from its transactions and daily closes)');
    lines.push('');
    lines.push(`${fmt(s.portfolios)} portfolios x ${s.positions} positions x ${fmt(s.days)} days: ${fmt(s.totalMs)} ms, ${s.msPerPortfolio} ms per portfolio.`);
    lines.push('');
  }
  if (results.startup?.warm) {
    const s = results.startup;
    lines.push(`### Start-up to serving (GET /health = 200), embedded PostgreSQL`);
    lines.push('');
    lines.push(
      `cold (initdb + migrations) ${fmt(s.coldMs)} ms; warm \`node dist/main.js\` median ${fmt(s.warm.medianMs)} ms (runs: ${s.warm.runs.map((x) => fmt(x)).join(', ')} ms)${s.npmStartMs ? `; \`npm start\` including its prestart \`nest build\` ${fmt(s.npmStartMs)} ms` : ''}.`,
    );
    lines.push('');
  }
  if (results.scale) lines.push(...renderScale(results.scale));
  if (results.targets?.length) {
    lines.push('### Targets');
    lines.push('');
    lines.push(
      markdownTable(results.targets, [
        ['target', (t) => t.goal],
        ['measured', (t) => t.measured],
        ['status', (t) => t.status],
      ]),
    );
    lines.push('');
  }
  if (results.errors?.length) {
    lines.push('### Errors');
    lines.push('');
    for (const e of results.errors) lines.push(`- ${e}`);
  }
  return lines.join('\n');
}

/** The scale scenario (bench/scenarios/scale.mjs): idle connections on one instance, snapshots from a large catalog. */
function renderScale(sc) {
  const lines = [];
  const k = sc.kernel ?? {};
  const c = sc.connections;
  const s = sc.symbols;
  lines.push('### Scale (idle connections on one instance; snapshots on subscribe from a large catalog)');
  lines.push('');
  lines.push(
    `Open files ${fmt(sc.openFiles?.soft)} (hard ${fmt(sc.openFiles?.hard)}); ip_local_port_range ${k.portRange?.join('–') ?? '?'}; somaxconn ${k.somaxconn ?? '?'} (listen backlog ${k.listenBacklog ?? '?'}).`,
  );
  lines.push('');
  if (c?.runs?.length) {
    const p = c.runs.find((r) => r.target === 'ws-project');
    const b = c.runs.find((r) => r.target === 'ws-reference-busless');
    if (c.limitedBy) lines.push(`**${c.limitedBy}: measured at C=${fmt(c.clients)} instead.**`, '');
    lines.push(
      `${fmt(c.clients)} raw-WebSocket clients, ${c.perClient} subscriptions each, from ${c.addressCount} loopback source address${c.addressCount === 1 ? '' : 'es'} (${fmt(c.perAddress)} each), ${c.concurrency} handshakes in flight (${c.workers} generator processes); one server at a time. Memory per connection after two full GCs; the whole machine was ${c.machineBusyPct ?? '?'}% busy (100 = every core) over this part.`,
    );
    lines.push('');
    lines.push(
      markdownTable(c.runs, [
        ['server', (r) => r.target],
        ['accepted + subscribed', (r) => `${fmt(r.setup.ready)}/${fmt(r.setup.clients)}`],
        ['failed', (r) => fmt(r.setup.failed)],
        ['time s', (r) => round(r.setup.elapsedMs / 1000, 1)],
        ['conn/s', (r) => fmt(r.setup.setupRate)],
        ['setup p50 / p99 ms', (r) => `${r.setup.setupP50Ms ?? '–'} / ${r.setup.setupP99Ms ?? '–'}`],
        ['RSS MB before → after', (r) => `${r.memory.rssBeforeMB} → ${r.memory.rssAfterMB}`],
        ['RSS/conn KB', (r) => r.memory.rssPerConnKB],
        ['heap/conn KB', (r) => r.memory.heapPerConnKB],
        ['x bus-less ref (RSS / heap)', (r) => (r === p && b ? `${c.ratio.rss ?? '–'} / ${c.ratio.heap ?? '–'}` : null)],
        ['server open files', (r) => fmt(r.serverFds)],
        ['listen overflows / drops', (r) => `${r.listenOverflows ?? '–'} / ${r.listenDrops ?? '–'}`],
        ['server CPU', (r) => r.serverCpuPct],
        ['gen CPU', (r) => r.generatorCpuPct],
        ['foreign CPU', (r) => r.foreignCpuPct],
      ]),
    );
    const failures = c.runs.filter((r) => r.setup.failed).map((r) => `${r.target}: ${JSON.stringify(r.setup.failures)}`);
    if (failures.length) lines.push('', `Failures: ${failures.join('; ')}`);
    lines.push('');
  } else if (c) {
    lines.push(`Connections: ${c.skipped ?? c.error ?? 'not run'}`);
    lines.push('');
  }
  if (s?.project) {
    const rows = [
      { server: 'ws-project', what: 'first subscribe (loads the catalog)', ...s.project.first },
      { server: 'ws-project', what: 'cold: no price seen yet', ...s.project.cold },
      { server: 'ws-project', what: 'primed: one bus tick per symbol', ...s.project.primed },
      ...(s.reference?.primed ? [{ server: 'ws-reference-busless', what: 'primed (sends no snapshot)', ...s.reference.primed }] : []),
    ];
    lines.push(
      `${fmt(s.symbols)} symbols in the catalog; one subscribe at a time per client, ${s.parallel} clients at once, symbols spread over the whole catalog. Snapshot source: 'bench' = a bus tick held in memory, 'bench-db' = the stored price (the assets row, from memory when the start-up warm-up loaded it: the table reads tell). Project RSS ${s.project.memory?.rssBeforeMB} → ${s.project.memory?.rssPrimedMB} MB, heap ${s.project.memory?.heapBeforeMB} → ${s.project.memory?.heapPrimedMB} MB after ${fmt(s.project.primeTicks)} ticks.`,
    );
    lines.push('');
    lines.push(
      markdownTable(rows, [
        ['server', (r) => r.server],
        ['phase', (r) => r.what],
        ['subscribes', (r) => fmt(r.subscribes)],
        ['subscribed p50 / p99 ms', (r) => `${r.ackP50 ?? '–'} / ${r.ackP99 ?? '–'}`],
        ['snapshot p50 / p99 / max ms', (r) => (r.snapshots == null ? 'n/a' : `${r.snapP50 ?? '–'} / ${r.snapP99 ?? '–'} / ${r.snapMax ?? '–'}`)],
        ['snapshots: bus tick / stored price', (r) => (r.snapshots == null ? 'n/a' : `${fmt(r.fromBus)} / ${fmt(r.fromDatabase)} of ${fmt(r.snapshots)}`)],
        ['assets table reads (index / full scans)', (r) => (r.db ? `${r.db.idxScans} / ${r.db.seqScans}` : null)],
        ['subscribes/s', (r) => fmt(r.perSec)],
        ['server µs/subscribe', (r) => r.serverUsPerSubscribe],
        ['failures', (r) => Object.values(r.failures ?? {}).reduce((a, x) => a + x, 0)],
      ]),
    );
    lines.push('');
  } else if (s) {
    lines.push(`Symbols: ${s.error ?? 'not run'}`);
    lines.push('');
  }
  return lines;
}
