import { beforeAll, describe, expect, it } from 'vitest';

type Stats = typeof import('../../../bench/lib/stats.mjs');
let s: Stats;

beforeAll(async () => {
  s = await import('../../../bench/lib/stats.mjs');
});

describe('bench statistics', () => {
  it('nearest-rank percentiles of plain samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(s.percentile(samples, 50)).toBe(50);
    expect(s.percentile(samples, 99)).toBe(99);
    expect(s.percentile(samples, 100)).toBe(100);
    expect(s.percentile([7], 1)).toBe(7);
    expect(s.percentile([], 50)).toBeNull();
    expect(() => s.percentile([1], 0)).toThrow(RangeError);
  });

  it('medians ignore missing values and average the middle pair', () => {
    expect(s.median([3, 1, 2])).toBe(2);
    expect(s.median([4, 1, 3, 2])).toBe(2.5);
    expect(s.median([null, 5, undefined, 1])).toBe(3);
    expect(s.median([])).toBeNull();
  });

  it('merges worker histograms and reports milliseconds from microseconds', () => {
    const a = s.newLatencyHistogram();
    const b = s.newLatencyHistogram();
    for (let i = 1; i <= 50; i++) a.recordValue(i * 1000); // 1..50 ms
    for (let i = 51; i <= 100; i++) b.recordValue(i * 1000); // 51..100 ms
    const merged = s.mergeHistograms([s.encodeHistogram(a), s.encodeHistogram(b), null]);
    const sum = s.latencySummary(merged);
    expect(sum.count).toBe(100);
    // 3 significant digits: within 0.1% of the exact rank value
    expect(sum.p50).toBeCloseTo(50, 0);
    expect(sum.p95).toBeCloseTo(95, 0);
    expect(sum.p99).toBeCloseTo(99, 0);
    expect(sum.max).toBeCloseTo(100, 0);
    expect(s.latencySummary(s.newLatencyHistogram())).toMatchObject({ count: 0, p99: null });
  });

  it('expected deliveries weigh each symbol by its subscribers', () => {
    expect(s.expectedDeliveries([10, 0, 5], [2, 7, 1])).toBe(25);
    expect(() => s.expectedDeliveries([1], [1, 2])).toThrow(RangeError);
  });

  it('spreads client subscriptions evenly over the symbols', () => {
    expect(s.symbolsForClient(0, 5, 500)).toEqual([0, 1, 2, 3, 4]);
    expect(s.symbolsForClient(99, 5, 500)).toEqual([495, 496, 497, 498, 499]);
    expect(s.symbolsForClient(100, 5, 500)).toEqual([0, 1, 2, 3, 4]);
    const counts = s.subscribersPerSymbol(5_000, 5, 500);
    expect(new Set(counts)).toEqual(new Set([50]));
    const withoutSlow = s.subscribersPerSymbol(1_000, 5, 500, (i) => i % 10 === 0);
    expect(withoutSlow.reduce((a, b) => a + b, 0)).toBe(900 * 5);
  });

  it('applies the saturation rule: p99 < 100 ms and >= 98% delivered', () => {
    expect(s.stepPasses({ expected: 1000, delivered: 980, p99: 99.9 })).toBe(true);
    expect(s.stepPasses({ expected: 1000, delivered: 979, p99: 10 })).toBe(false);
    expect(s.stepPasses({ expected: 1000, delivered: 1000, p99: 100 })).toBe(false);
    expect(s.stepPasses({ expected: 0, delivered: 0, p99: 1 })).toBe(false);
    expect(s.stepPasses({ expected: 10, delivered: 10, p99: null })).toBe(false);
  });

  it('sweeps upward, then bisects to the highest passing rate', async () => {
    const capacity = 1_234;
    const tried: number[] = [];
    const r = await s.sweepSaturation(
      async (rate) => {
        tried.push(rate);
        return { expected: 100, delivered: rate <= capacity ? 100 : 50, p99: 5 };
      },
      { start: 500, factor: 1.5, refine: 3 },
    );
    expect(tried.slice(0, 4)).toEqual([500, 750, 1125, 1688]);
    expect(r.bracket.fail).toBeGreaterThan(capacity);
    expect(r.best?.rate).toBeLessThanOrEqual(capacity);
    expect(r.best?.rate).toBeGreaterThanOrEqual(1125);
    expect(r.steps.every((st) => st.pass === st.rate <= capacity)).toBe(true);
  });

  it('steps down when the first rate already fails, and stays bounded', async () => {
    const r = await s.sweepSaturation(async (rate) => ({ expected: 100, delivered: 100, p99: rate > 300 ? 500 : 20 }), { start: 1_000, factor: 2, refine: 1 });
    expect(r.steps.map((x) => x.rate)).toEqual([1000, 500, 250, 375]);
    expect(r.best?.rate).toBe(250);

    let calls = 0;
    const never = await s.sweepSaturation(
      async () => {
        calls++;
        return { expected: 100, delivered: 0, p99: 1_000 };
      },
      { start: 1_000, factor: 2, maxSteps: 6 },
    );
    expect(never.best).toBeNull();
    expect(calls).toBeLessThanOrEqual(6);

    const capped = await s.sweepSaturation(async () => ({ expected: 1, delivered: 1, p99: 1 }), { start: 10, factor: 10, maxRate: 500 });
    expect(capped.best?.rate).toBe(500);
    expect(capped.steps.length).toBe(3);
  });

  it('reads published_at values straight from frame bytes', () => {
    const one = Buffer.from(JSON.stringify({ type: 'asset_update', data: { symbol: 'BX001', price: 1.5, published_at: 1764100000123.25 } }));
    expect(s.publishedAtValues(one)).toEqual([1764100000123.25]);
    const batched = Buffer.from(JSON.stringify({ type: 'asset_updates', data: [{ published_at: 10 }, { published_at: 20.5 }, { published_at: -3 }] }));
    expect(s.publishedAtValues(batched)).toEqual([10, 20.5, -3]);
    expect(s.publishedAtValues(Buffer.from('{"type":"pong","data":{}}'))).toEqual([]);
    expect(s.parseNumberAt(Buffer.from(' 42.5,'), 0)).toBe(42.5);
    expect(Number.isNaN(s.parseNumberAt(Buffer.from('"x"'), 0))).toBe(true);
  });

  it('renders markdown tables and ratios', () => {
    const t = s.markdownTable(
      [
        { a: 1, b: null },
        { a: 2.5, b: 'x|y' },
      ],
      [
        ['A', (r) => r.a],
        ['B', (r) => r.b],
      ],
    );
    expect(t.split('\n')).toEqual(['| A | B |', '| --- | --- |', '| 1 | – |', '| 2.5 | x\\|y |']);
    expect(s.ratio(90, 100)).toBe(0.9);
    expect(s.ratio(1, 0)).toBeNull();
    expect(s.fmt(87000)).toBe('87,000');
  });
});

describe('bench sweep with confirmed failures', () => {
  it('measures a failing rate twice, so one noisy window does not end the sweep', async () => {
    const s = await import('../../../bench/lib/stats.mjs');
    let noisy = true;
    const tried: number[] = [];
    const r = await s.sweepSaturation(
      async (rate) => {
        tried.push(rate);
        // the first window at 200 hits a burst of noise; the capacity is 300
        const fail = rate > 300 || (rate === 200 && noisy);
        if (rate === 200) noisy = false;
        return { expected: 10, delivered: 10, p99: fail ? 500 : 5 };
      },
      { start: 100, factor: 2, refine: 0, confirmFailures: true },
    );
    expect(tried).toEqual([100, 200, 200, 400, 400]);
    expect(r.best?.rate).toBe(200);
    expect(r.bracket).toEqual({ pass: 200, fail: 400 });
  });
});
