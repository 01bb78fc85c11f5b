// In-process price ticks for the bus-less reference servers (ws-busless-server.mjs,
// socketio-busless-server.mjs): no Redis, no bus message, no JSON.parse. The bench drives the ticker over
// the IPC channel it forks every server with, as it drives the Redis source (bench/lib/source-worker.mjs):
//   {cmd: 'source:init', reqId, symbols}                                -> {ok}
//   {cmd: 'source:run', reqId, rate, startAt, durationMs, tickMs, t0, t1} -> {sent, counts, ...}
// Same schedule as the Redis source: R ticks per second round-robin over the symbols, one batch every
// tickMs; prices follow the same seeded random walk. Each tick becomes the `asset_update` data object
// (the fields the Redis-fed references build from a bus tick) and is handed to `publish(symbol, data)`.
//
// published_at = the time the batch's slot was due (epoch ms, performance.timeOrigin + performance.now()).
// While the server keeps up, that is the moment the tick is produced (the timer fires within about a
// millisecond of it). When the server's event loop is late, the delay counts in the latency, as it does for
// a Redis-fed server whose bus message waits in its socket while it is busy; stamping at production instead
// would hide a saturated server.
import { performance } from 'node:perf_hooks';

/** Stop producing this long after the run's end; what is still due is counted as expected and never sent. */
const MAX_OVERRUN_MS = 10_000;

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const yieldToIo = () => new Promise((r) => setImmediate(r));

/** Serves source:init / source:run over the IPC channel; `publish(symbol, data)` fans one update out. */
export function serveTicker(publish) {
  let symbols = [];
  let state = [];
  let seqs = [];
  let cursor = 0;
  let running = false;

  function init({ symbols: list }) {
    symbols = list.map(String);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    state = symbols.map(() => {
      const p = 20 + rnd() * 480;
      return { price: p, prev: p, high: p, low: p, volume: 1_000_000 + Math.floor(rnd() * 1e6), rnd };
    });
    seqs = symbols.map(() => 0);
    cursor = 0;
    return { ok: true, symbols: symbols.length };
  }

  /** One tick of symbol `i`: the random walk, then the update's data (4-decimal prices, as the bus carries them). */
  function tick(i, asOf, publishedAt) {
    const s = state[i];
    s.price = Math.max(0.01, s.price * (1 + (s.rnd() - 0.5) * 0.002));
    if (s.price > s.high) s.high = s.price;
    if (s.price < s.low) s.low = s.price;
    s.volume += 100;
    const price = Math.round(s.price * 1e4) / 1e4;
    const prev = Math.round(s.prev * 1e4) / 1e4;
    const change = price - prev;
    return {
      symbol: symbols[i],
      price,
      change,
      change_percent: prev ? (change / prev) * 100 : 0,
      volume: s.volume,
      high: Math.round(s.high * 1e4) / 1e4,
      low: Math.round(s.low * 1e4) / 1e4,
      previous_close: prev,
      as_of: asOf,
      source: 'bench',
      seq: ++seqs[i],
      published_at: publishedAt,
    };
  }

  /**
   * `rate` ticks/s from `startAt` for `durationMs`, one batch per `tickMs` slot. Counts, per symbol, the
   * ticks whose published_at lies in [t0, t1] (what the load generator must receive). Bounded: at most
   * durationMs / tickMs slots, and nothing is produced later than MAX_OVERRUN_MS after the end.
   */
  async function run({ rate, startAt, durationMs, tickMs = 10, t0, t1 }) {
    if (symbols.length === 0) throw new Error('source:run before source:init');
    if (running) throw new Error('source:run while a run is in progress');
    running = true;
    try {
      const counts = new Array(symbols.length).fill(0);
      while (nowMs() < startAt) await sleep(Math.min(5, startAt - nowMs()));
      const begin = nowMs();
      const slots = Math.max(1, Math.ceil(durationMs / tickMs));
      const giveUpAt = begin + durationMs + MAX_OVERRUN_MS;
      let due = 0; // ticks due so far
      let sent = 0;
      let skipped = 0;
      let messages = 0;
      let maxLagMs = 0;
      for (let k = 1; k <= slots; k++) {
        const at = begin + Math.min(k * tickMs, durationMs);
        let now = nowMs();
        if (now < at) {
          await sleep(at - now);
          now = nowMs();
        } else await yieldToIo(); // late: still let the sockets be served between batches, as between bus messages
        maxLagMs = Math.max(maxLagMs, now - at);
        const n = Math.floor((rate * (at - begin)) / 1000) - due;
        if (n <= 0) continue;
        due += n;
        const published_at = Math.round(at * 1000) / 1000;
        const inWindow = published_at >= t0 && published_at <= t1;
        if (nowMs() > giveUpAt) {
          // far behind: count the rest as expected, send nothing (the step then fails on delivery)
          for (let j = 0; j < n; j++) {
            if (inWindow) counts[cursor]++;
            cursor = (cursor + 1) % symbols.length;
          }
          skipped += n;
          continue;
        }
        const asOf = new Date(at).toISOString();
        for (let j = 0; j < n; j++) {
          const i = cursor;
          cursor = (cursor + 1) % symbols.length;
          if (inWindow) counts[i]++;
          publish(symbols[i], tick(i, asOf, published_at));
        }
        sent += n;
        messages++;
      }
      const elapsedMs = nowMs() - begin;
      // cpuMs 0: the ticks cost the server's own CPU, which the bench measures as server CPU.
      return { sent, skipped, messages, counts, elapsedMs, achievedRate: (sent * 1000) / elapsedMs, maxLagMs, cpuMs: 0, inProcess: true };
    } finally {
      running = false;
    }
  }

  process.on('message', async (m) => {
    if (!m || typeof m.cmd !== 'string' || !m.cmd.startsWith('source:')) return; // probe messages are the probe's
    try {
      let result;
      if (m.cmd === 'source:init') result = init(m);
      else if (m.cmd === 'source:run') result = await run(m);
      else throw new Error(`unknown command ${m.cmd}`);
      process.send({ reqId: m.reqId, ok: true, result });
    } catch (err) {
      process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
    }
  });
  // Driven by the bench: when it goes away, so does the server.
  process.on('disconnect', () => process.exit(0));
}
