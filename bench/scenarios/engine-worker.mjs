// Forked by the ingest and valuation scenarios: boots the project's own Nest modules from the
// production build (config, database, in-process bus, price-feed core, valuation engine) as an
// application context (no HTTP server) against a scratch database, and times them directly.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const dist = process.env.BENCH_DIST_DIR;
const load = (p) => require(join(dist, p));

let app;
let bootMs = null;

/** With BENCH_PROFILE_DIR set, the measured part runs under the inspector's CPU profiler. */
async function profiled(name, fn) {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return fn();
  const inspector = require('node:inspector');
  const { writeFileSync } = require('node:fs');
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((res, rej) => session.post(method, params, (err, r) => (err ? rej(err) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await post('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

async function boot() {
  require('reflect-metadata');
  const { NestFactory } = require('@nestjs/core');
  const { Module } = require('@nestjs/common');
  const { ConfigModule } = load('config/config.module.js');
  const { DatabaseModule } = load('database/database.module.js');
  const { BusModule } = load('bus/bus.module.js');
  const { PriceFeedCoreModule } = load('price-feed/price-feed-core.module.js');
  const { ValuationModule } = load('portfolios/valuation/valuation.module.js');
  class BenchEngineModule {}
  Module({ imports: [ConfigModule, DatabaseModule, BusModule, PriceFeedCoreModule, ValuationModule] })(BenchEngineModule);
  const t0 = performance.now();
  app = await NestFactory.createApplicationContext(BenchEngineModule, { logger: ['error', 'warn'], abortOnError: false });
  await app.init();
  bootMs = performance.now() - t0;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r2 = (x) => Math.round(x * 100) / 100;
const summary = (xs) => ({ medianMs: r2(median(xs)), minMs: r2(Math.min(...xs)), maxMs: r2(Math.max(...xs)), runs: xs.length, samplesMs: xs.map(r2) });

/** Batches of `sizes` quotes: load known prices (one SELECT), validate, write (one transaction). */
async function ingest({ symbols, sizes, runs }) {
  const { QuoteValidator } = load('price-feed/validation/quote-validator.js');
  const { PriceBatchWriter } = load('price-feed/pipeline/price-batch.writer.js');
  const { PricePipeline } = load('price-feed/pipeline/price-pipeline.service.js');
  const validator = app.get(QuoteValidator);
  const writer = app.get(PriceBatchWriter);
  const pipeline = app.get(PricePipeline);
  let clock = Date.now() - 3_600_000; // quotes move forward one second per run, never into the future
  const price = new Map(symbols.map((s, i) => [s, 50 + (i % 400)]));
  const out = [];
  for (const size of sizes) {
    const batchSymbols = symbols.slice(0, size);
    const totals = [];
    const parts = { loadMs: [], validateMs: [], writeMs: [] };
    let rows = 0;
    let accepted = 0;
    for (let r = 0; r < runs + 1; r++) {
      clock += 1_000;
      const asOf = new Date(clock);
      const quotes = batchSymbols.map((s) => {
        const p = price.get(s) * (1 + (((r * 7 + s.length) % 11) - 5) / 1000);
        price.set(s, p);
        return {
          symbol: s,
          price: p.toFixed(4),
          previous_close: '100',
          high: (p * 1.01).toFixed(4),
          low: (p * 0.99).toFixed(4),
          volume: String(1_000_000 + r),
          as_of: asOf,
          source: 'bench',
        };
      });
      const t0 = performance.now();
      // As the leader's batches get them: from the pipeline's memory (read from PostgreSQL in the warm-up run).
      const assets = await pipeline.knownAssets(batchSymbols);
      const known = new Map([...assets.values()].map((a) => [a.symbol, { price: a.lastPrice, asOf: a.asOf }]));
      const t1 = performance.now();
      const v = validator.validate(quotes, known);
      const t2 = performance.now();
      const w = await writer.write(v.accepted);
      pipeline.remember(w.committed); // what runBatch does after a commit
      const t3 = performance.now();
      if (r === 0) continue; // warm-up (plans, pool)
      totals.push(t3 - t0);
      parts.loadMs.push(t1 - t0);
      parts.validateMs.push(t2 - t1);
      parts.writeMs.push(t3 - t2);
      rows = w.historyRows;
      accepted = v.accepted.length;
      if (v.rejected.length) throw new Error(`bench quotes rejected: ${JSON.stringify(v.rejected.slice(0, 2))}`);
    }
    const s = summary(totals);
    out.push({
      size,
      ...s,
      quotesPerSec: Math.round((size * 1000) / s.medianMs),
      loadMedianMs: r2(median(parts.loadMs)),
      validateMedianMs: r2(median(parts.validateMs)),
      writeMedianMs: r2(median(parts.writeMs)),
      acceptedPerBatch: accepted,
      historyRowsPerBatch: rows,
    });
  }
  return { batches: out };
}

/**
 * Revaluation through the engine's real inputs: a 'prices.committed' batch on the bus (timed from
 * publish to the onChange listener receiving every touched portfolio), and one position edited in
 * PostgreSQL followed by 'portfolio.changed' (timed to that portfolio's update).
 */
async function valuation({ symbols, runs, editPortfolioId, editOwnerId, editPositionId, watchedEvery }) {
  const { LiveValuationService } = load('portfolios/valuation/live-valuation.service.js');
  const { MessageBus } = load('bus/message-bus.js');
  const { DataSource } = require('typeorm');
  const engine = app.get(LiveValuationService);
  const bus = app.get(MessageBus);
  const db = app.get(DataSource);
  await engine.load(); // already loaded while the context booted (onApplicationBootstrap)
  const stats = engine.stats();

  let waiter = null;
  engine.onChange((changed) => {
    if (waiter && waiter.match(changed)) {
      const w = waiter;
      waiter = null;
      w.resolve({ at: performance.now(), changed: changed.length });
    }
  });
  const wait = (match, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('valuation update not received in time')), timeoutMs);
      waiter = { match, resolve: (v) => (clearTimeout(timer), resolve(v)) };
    });

  let clock = Date.now();
  const prices = symbols.map((_, i) => 100 + (i % 50));
  const batchRun = async (r) => {
    clock += 1_000;
    const asOf = new Date(clock).toISOString();
    const ticks = symbols.map((symbol, i) => {
      prices[i] = prices[i] * (1 + (((r + i) % 9) - 4) / 1000);
      return {
        symbol,
        price: prices[i].toFixed(4),
        previous_close: (100 + (i % 50)).toFixed(2),
        high: null,
        low: null,
        volume: '1000',
        as_of: asOf,
        source: 'bench',
      };
    });
    const done = wait((changed) => changed.length > 0);
    const start = performance.now();
    await bus.publish('prices.committed', { ticks, published_at: Date.now(), origin: 'bench' });
    const got = await done;
    return { ms: got.at - start, changed: got.changed };
  };

  const batch = [];
  let changed = 0;
  await batchRun(0); // warm-up
  for (let r = 1; r <= runs; r++) {
    const x = await batchRun(r);
    batch.push(x.ms);
    changed = x.changed;
  }

  // Only a fraction of portfolios watched by a socket (as the hub can tell the engine): fewer valuations to build.
  let watched = null;
  if (watchedEvery && typeof engine.setInterest === 'function') {
    engine.setInterest((id) => id % watchedEvery === 0);
    const w = [];
    let wChanged = 0;
    await batchRun(runs + 1);
    for (let r = 0; r < runs; r++) {
      const x = await batchRun(runs + 2 + r);
      w.push(x.ms);
      wChanged = x.changed;
    }
    engine.setInterest(null);
    watched = { ...summary(w), changed: wChanged, watchedEvery };
  }

  const edit = [];
  for (let r = 0; r < runs + 1; r++) {
    await db.query('UPDATE positions SET quantity = quantity + 1, updated_at = now() WHERE id = $1', [editPositionId]);
    const done = wait((c) => c.some((v) => v.portfolio_id === editPortfolioId));
    const start = performance.now();
    await bus.publish('portfolio.changed', { portfolio_id: editPortfolioId, owner_id: editOwnerId });
    const got = await done;
    if (r > 0) edit.push(got.at - start);
  }

  return {
    portfolios: stats.portfolios,
    positions: stats.positions,
    symbols: stats.symbols,
    boot: { medianMs: r2(bootMs), minMs: r2(bootMs), maxMs: r2(bootMs), runs: 1 },
    batch: { ...summary(batch), changed },
    watched,
    edit: { ...summary(edit), changed: 1 },
  };
}

process.on('message', async (m) => {
  try {
    if (!app) await boot();
    let result;
    if (m.cmd === 'ingest') result = await profiled('ingest', () => ingest(m));
    else if (m.cmd === 'valuation') result = await profiled('valuation', () => valuation(m));
    else if (m.cmd === 'exit') {
      await app?.close();
      process.exit(0);
    }
    process.send({ reqId: m.reqId, ok: true, result });
  } catch (err) {
    process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
