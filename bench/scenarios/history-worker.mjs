// Child of the resume-history scenario (run with --expose-gc): builds the hub's per-symbol
// update histories (UpdateHistory from the production build) from ticks parsed out of bus
// messages exactly as the Redis bus hands them over, and reports the heap they hold.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const dist = resolve(process.env.BENCH_DIST_DIR);
const require = createRequire(pathToFileURL(join(dist, 'main.js')));
const { UpdateHistory } = require(join(dist, 'realtime/hub/update-history.js'));
const { checkBusMessage } = require(join(dist, 'bus/bus-message.validator.js'));

const symbols = Number(process.env.BENCH_HISTORY_SYMBOLS);
const capacity = Number(process.env.BENCH_HISTORY_SIZE);
const BATCH = 500;

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const names = Array.from({ length: symbols }, (_, i) => `HS${i}`);
const histories = new Map(names.map((s) => [s, new UpdateHistory(capacity)]));
const before = heap();
const base = Date.now() - capacity * 60_000;
let seq = 0;
// capacity rounds: every symbol gets `capacity` updates, published in batches of 500 ticks as the feed does.
for (let round = 1; round <= capacity; round++) {
  for (let i = 0; i < symbols; i += BATCH) {
    const ticks = names.slice(i, i + BATCH).map((symbol) => ({
      symbol,
      price: (100 + Math.random() * 50).toFixed(4),
      previous_close: '101.25',
      high: (150 + Math.random()).toFixed(4),
      low: (99 - Math.random()).toFixed(4),
      volume: String(Math.floor(Math.random() * 1e7)),
      as_of: new Date(base + round * 60_000 + (seq % 1000)).toISOString(),
      source: 'simulated',
      seq: round,
    }));
    const wire = JSON.stringify({ ticks, published_at: Date.now(), origin: 'bench' });
    const checked = checkBusMessage('prices.committed', JSON.parse(wire));
    if (!checked.ok) throw new Error(`bench ticks refused: ${checked.reason}`);
    const publishedAt = Date.now();
    for (const t of checked.message.ticks) histories.get(t.symbol).push({ seq: t.seq, tick: t, publishedAt });
    seq++;
  }
}
const after = heap();
let entries = 0;
for (const h of histories.values()) entries += h.length;
const bytes = after - before;
process.send({
  symbols,
  capacity,
  entries,
  heapBytes: bytes,
  bytesPerEntry: Math.round(bytes / entries),
  bytesPerSymbol: Math.round(bytes / symbols),
});
process.exit(0);
