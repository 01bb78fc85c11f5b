// Pure helpers of the benchmark: percentiles, medians, the saturation rule and sweep, the table.
// No I/O here, so test/unit/bench/stats.spec.ts can check them.
import hdr from 'hdr-histogram-js';

/** Saturation rule of issue 6: p99 below 100 ms and at least 98% of the expected deliveries. */
export const DEFAULT_CRITERIA = Object.freeze({ p99Ms: 100, minDelivered: 0.98 });

/** A latency histogram in microseconds, 1 µs .. 120 s, 3 significant digits. */
export function newLatencyHistogram() {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function encodeHistogram(h) {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Adds encoded worker histograms into one. */
export function mergeHistograms(encoded) {
  const total = newLatencyHistogram();
  for (const e of encoded) {
    if (!e) continue;
    const h = hdr.decodeFromCompressedBase64(e, 32, false);
    total.add(h);
  }
  return total;
}

/** p50/p95/p99/max in milliseconds of a microsecond histogram (null when empty). */
export function latencySummary(h) {
  if (h.totalCount === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const ms = (us) => round(us / 1000, 2);
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Nearest-rank percentile of plain samples (used for small sample sets such as setup times). */
export function percentile(samples, p) {
  if (samples.length === 0) return null;
  if (p <= 0 || p > 100) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return null;
  const s = Float64Array.from(v).sort();
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function round(x, digits = 0) {
  if (x == null || !Number.isFinite(x)) return x ?? null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Expected deliveries of a window: ticks published per symbol times that symbol's subscribers. */
export function expectedDeliveries(ticksPerSymbol, subscribersPerSymbol) {
  if (ticksPerSymbol.length !== subscribersPerSymbol.length) throw new RangeError('arrays must have the same length');
  let total = 0;
  for (let i = 0; i < ticksPerSymbol.length; i++) total += ticksPerSymbol[i] * subscribersPerSymbol[i];
  return total;
}

/** Whether one measured step meets the saturation rule. */
export function stepPasses(step, criteria = DEFAULT_CRITERIA) {
  if (!step || !(step.expected > 0)) return false;
  if (step.p99 == null || !(step.p99 < criteria.p99Ms)) return false;
  return step.delivered / step.expected >= criteria.minDelivered;
}

/**
 * Finds the highest rate that passes: grows geometrically from `start` while steps pass, then bisects
 * between the last pass and the first failure `refine` times. Bounded by `maxSteps` and `maxRate`.
 * `runStep(rate)` resolves to a step with {expected, delivered, p99}. Returns every step and the best.
 */
export async function sweepSaturation(
  runStep,
  { start, factor = 1.5, refine = 2, maxSteps = 10, maxRate = Infinity, minRate = 1, criteria = DEFAULT_CRITERIA, confirmFailures = false } = {},
) {
  if (!(start > 0) || !(factor > 1)) throw new RangeError('start must be > 0 and factor > 1');
  const steps = [];
  const measure = async (rate) => {
    const step = { rate, ...(await runStep(rate)) };
    step.pass = stepPasses(step, criteria);
    steps.push(step);
    return step.pass;
  };
  // With confirmFailures, a failing rate is measured once more before it counts as a failure
  // (a short burst of machine noise should not end the sweep early).
  const run = async (rate) => (await measure(rate)) || (confirmFailures && steps.length < maxSteps && (await measure(rate)));
  let lo = null; // highest passing rate
  let hi = null; // lowest failing rate
  let rate = Math.min(Math.round(start), maxRate);
  // Phase 1: find a bracket.
  while (steps.length < maxSteps) {
    if (await run(rate)) {
      lo = rate;
      if (rate >= maxRate || hi !== null) break;
      rate = Math.min(Math.round(rate * factor), maxRate);
    } else {
      hi = rate;
      if (lo !== null) break;
      const lower = Math.round(rate / factor);
      if (lower < minRate || lower === rate) break;
      rate = lower;
    }
  }
  // Phase 2: bisect.
  for (let i = 0; i < refine && lo !== null && hi !== null && steps.length < maxSteps; i++) {
    const mid = Math.round((lo + hi) / 2);
    if (mid === lo || mid === hi) break;
    if (await run(mid)) lo = mid;
    else hi = mid;
  }
  const best = lo === null ? null : steps.filter((s) => s.pass && s.rate === lo).at(-1);
  return { steps, best: best ?? null, bracket: { pass: lo, fail: hi } };
}

export function ratio(a, b, digits = 2) {
  if (a == null || b == null || !(b > 0)) return null;
  return round(a / b, digits);
}

/** A markdown table; `columns` is [[header, (row) => cell], ...]. */
export function markdownTable(rows, columns) {
  const cell = (v) => (v == null || (typeof v === 'number' && !Number.isFinite(v)) ? '–' : String(v)).replace(/\|/g, '\\|');
  const head = `| ${columns.map(([h]) => cell(h)).join(' | ')} |`;
  const sep = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map(([, f]) => cell(f(r))).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

/** Formats a number with thousands separators (no decimals unless asked). */
export function fmt(x, digits = 0) {
  if (x == null || !Number.isFinite(x)) return null;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Parses the number that starts at `pos` in a byte buffer (JSON number syntax, no exponent). */
export function parseNumberAt(buf, pos) {
  let i = pos;
  while (buf[i] === 0x20) i++;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
  }
  let v = 0;
  let digits = 0;
  while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) {
    v = v * 10 + (buf[i] - 0x30);
    i++;
    digits++;
  }
  if (buf[i] === 0x2e) {
    i++;
    let scale = 0.1;
    while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) {
      v += (buf[i] - 0x30) * scale;
      scale /= 10;
      i++;
      digits++;
    }
  }
  if (digits === 0) return NaN;
  return neg ? -v : v;
}

const PUBLISHED_AT = Buffer.from('"published_at":');

/** Every `published_at` value in a frame (one for asset_update, several for a batched asset_updates frame). */
export function publishedAtValues(buf, out = []) {
  let pos = buf.indexOf(PUBLISHED_AT, 0);
  while (pos !== -1) {
    const v = parseNumberAt(buf, pos + PUBLISHED_AT.length);
    if (Number.isFinite(v)) out.push(v);
    pos = buf.indexOf(PUBLISHED_AT, pos + PUBLISHED_AT.length);
  }
  return out;
}

/** Symbols a client subscribes to: `perClient` consecutive symbols starting at index*perClient (mod S): even coverage. */
export function symbolsForClient(index, perClient, symbolCount) {
  const out = [];
  for (let j = 0; j < perClient; j++) out.push((index * perClient + j) % symbolCount);
  return out;
}

/** Subscribers per symbol index for clients [0, clients) each with `perClient` symbols. */
export function subscribersPerSymbol(clients, perClient, symbolCount, skip = () => false) {
  const counts = new Array(symbolCount).fill(0);
  for (let i = 0; i < clients; i++) {
    if (skip(i)) continue;
    for (const s of symbolsForClient(i, perClient, symbolCount)) counts[s]++;
  }
  return counts;
}
