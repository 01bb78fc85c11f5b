// Bench price source (forked by the driver): publishes R ticks per second over S symbols, round-robin,
// as 'prices.committed' bus messages ({ticks, published_at, origin}) on the Redis channel
// `${REDIS_PREFIX}prices.committed`: exactly what the project's RedisBus delivers to its hub.
// published_at is fractional epoch milliseconds (performance.timeOrigin + performance.now()).
// Each message is signed as the project's own bus signs it (dist/bus/bus-signer.js, BUS_SECRET of servers.mjs).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { BUS_SECRET } from './servers.mjs';

const { BusSigner } = createRequire(import.meta.url)('../../dist/bus/bus-signer.js');
const signer = new BusSigner(BUS_SECRET);

let redis;
let channel;
let symbols = [];
const state = []; // per symbol: {price, prev, high, low, volume}
let cursor = 0;

const nowMs = () => performance.timeOrigin + performance.now();

function init(m) {
  redis = new Redis(m.redisUrl, { maxRetriesPerRequest: 3, enableOfflineQueue: true });
  channel = `${m.prefix}prices.committed`;
  symbols = m.symbols;
  state.length = 0;
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < symbols.length; i++) {
    const p = 20 + rnd() * 480;
    state.push({ price: p, prev: p, high: p, low: p, volume: 1_000_000 + Math.floor(rnd() * 1e6), rnd });
  }
  return redis.ping().then(() => ({ ok: true }));
}

function nextTick(asOf) {
  const i = cursor;
  cursor = (cursor + 1) % symbols.length;
  const s = state[i];
  s.price = Math.max(0.01, s.price * (1 + (s.rnd() - 0.5) * 0.002));
  if (s.price > s.high) s.high = s.price;
  if (s.price < s.low) s.low = s.price;
  s.volume += 100;
  return {
    i,
    tick: {
      symbol: symbols[i],
      price: s.price.toFixed(4),
      previous_close: s.prev.toFixed(4),
      high: s.high.toFixed(4),
      low: s.low.toFixed(4),
      volume: String(s.volume),
      as_of: asOf,
      source: 'bench',
    },
  };
}

/**
 * Publishes `rate` ticks/s from `startAt` (epoch ms) for `durationMs`, one bus message every `tickMs`.
 * Counts, per symbol, the ticks whose published_at lies in [t0, t1].
 */
async function run(m) {
  const { rate, startAt, durationMs, tickMs, t0, t1 } = m;
  const target = m.prefix ? `${m.prefix}prices.committed` : channel; // each server under test has its own channel
  const counts = new Array(symbols.length).fill(0);
  const cpu0 = process.cpuUsage();
  while (nowMs() < startAt) await sleep(Math.min(5, startAt - nowMs()));
  const begin = nowMs();
  const end = begin + durationMs;
  let sent = 0;
  let messages = 0;
  let maxLagMs = 0;
  let nextAt = begin;
  const pending = [];
  while (true) {
    const now = nowMs();
    if (now >= end) break;
    const due = Math.floor((rate * (now - begin)) / 1000) - sent;
    if (due > 0) {
      const asOf = new Date(now).toISOString();
      const ticks = new Array(due);
      const idx = new Array(due);
      for (let k = 0; k < due; k++) {
        const { i, tick } = nextTick(asOf);
        ticks[k] = tick;
        idx[k] = i;
      }
      const published_at = Math.round(nowMs() * 1000) / 1000;
      if (published_at >= t0 && published_at <= t1) for (const i of idx) counts[i]++;
      pending.push(redis.publish(target, signer.seal('prices.committed', JSON.stringify({ ticks, published_at, origin: 'bench' }))));
      if (pending.length > 200) await Promise.all(pending.splice(0));
      sent += due;
      messages++;
    }
    nextAt += tickMs;
    const wait = nextAt - nowMs();
    if (wait < 0) {
      maxLagMs = Math.max(maxLagMs, -wait);
      nextAt = nowMs(); // fell behind: the next message carries the catch-up ticks
      await sleep(0);
    } else await sleep(wait);
  }
  await Promise.all(pending);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = nowMs() - begin;
  return { sent, messages, counts, elapsedMs: elapsed, achievedRate: (sent * 1000) / elapsed, maxLagMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

process.on('message', async (m) => {
  try {
    let result;
    if (m.cmd === 'init') result = await init(m);
    else if (m.cmd === 'run') result = await run(m);
    else if (m.cmd === 'exit') {
      redis?.disconnect();
      process.exit(0);
    }
    process.send({ reqId: m.reqId, ok: true, result });
  } catch (err) {
    process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
