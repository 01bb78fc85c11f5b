import { beforeAll, describe, expect, it } from 'vitest';

type Report = typeof import('../../../bench/lib/report.mjs');
let r: Report;

beforeAll(async () => {
  r = await import('../../../bench/lib/report.mjs');
});

const best = (deliveriesPerSec: number, p99: number, framesPerSec = deliveriesPerSec) => ({
  rate: 1,
  runs: 3,
  passes: 3,
  deliveriesPerSec,
  framesPerSec,
  deliveredRatio: 1,
  p50: 1,
  p95: 2,
  p99,
});
const fan = (target: string, clients: number, b: ReturnType<typeof best> | null, rssPerConnKB = 10) => ({
  target,
  clients,
  transport: target.startsWith('sio') ? 'sio' : 'ws',
  best: b,
  memory: { rssPerConnKB, heapPerConnKB: 4 },
  setup: { setupRate: 1000, failed: 0 },
});

function results(overrides: Record<string, unknown> = {}) {
  return {
    date: '2026-01-01T00:00:00.000Z',
    quick: false,
    machine: { cores: 2, cpuModel: 'x', memoryGiB: 24, node: 'v20', kernel: '6', postgres: 'machine' },
    fanout: [
      fan('ws-reference', 5_000, best(87_000, 60), 12),
      fan('ws-project', 5_000, best(80_000, 70), 15),
      fan('sio-reference', 5_000, best(50_000, 50), 25),
      fan('sio-project', 5_000, best(40_000, 50), 40),
    ],
    batched: { ...fan('ws-project-batched', 5_000, best(200_000, 80, 20_000)), vs: 'ws-reference' },
    slowConsumers: [],
    ingest: { path: 'x', batches: [{ size: 5_000, medianMs: 120, minMs: 1, maxMs: 1, quotesPerSec: 41_000, runs: 3 }] },
    valuation: {
      portfolios: 10_000,
      positionsPerPortfolio: 10,
      positions: 100_000,
      batchSymbols: 500,
      batch: { medianMs: 15, minMs: 1, maxMs: 1, runs: 3 },
      edit: { medianMs: 2 },
    },
    startup: { coldMs: 9_000, warm: { runs: [3_000], medianMs: 3_000 } },
    errors: [],
    ...overrides,
  };
}

describe('bench target verdicts', () => {
  it('compares the project with the reference measured in the same run', () => {
    const v = Object.fromEntries(r.evaluateTargets(results()).map((t) => [t.id, t.status]));
    expect(v['ws-fanout']).toBe('met'); // 80,000 / 87,000 = 0.92
    expect(v['sio-fanout']).toBe('missed'); // 0.8
    expect(v.batched).toBe('met'); // 200,000 / 87,000 = 2.3, 10 updates per frame
    expect(v['ws-memory']).toBe('met'); // 15 / 12 = 1.25
    expect(v['sio-memory']).toBe('missed'); // 1.6
    expect(v.ingest).toBe('missed'); // 120 ms
    expect(v.valuation).toBe('met'); // 15 ms over 100,000 positions
    expect(v.startup).toBe('met');
  });

  it('a ratio met with p99 over 100 ms, or batching not active, is not met', () => {
    const res = results({
      fanout: [fan('ws-reference', 5_000, best(87_000, 60)), fan('ws-project', 5_000, best(90_000, 150))],
      batched: { ...fan('ws-project-batched', 5_000, best(200_000, 80)), vs: 'ws-reference' },
    });
    const v = Object.fromEntries(r.evaluateTargets(res).map((t) => [t.id, t.status]));
    expect(v['ws-fanout']).toBe('missed');
    expect(v.batched).toBe('missed');
  });

  it('says "not measured" when a scenario did not run, and a small valuation does not count', () => {
    const res = results({
      fanout: [],
      batched: null,
      ingest: null,
      startup: null,
      valuation: { portfolios: 2_000, positionsPerPortfolio: 10, positions: 20_000, batch: { medianMs: 5 } },
    });
    const verdicts = r.evaluateTargets(res);
    expect(verdicts.every((t) => t.status === 'not measured')).toBe(true);
  });

  it('renders the fan-out table and the targets', () => {
    const text = r.renderReport({ ...results(), targets: r.evaluateTargets(results()), durationSec: 500 });
    expect(text).toContain('| ws-project | 5,000 |');
    expect(text).toContain('80,000');
    expect(text).toContain('### Targets');
    expect(text).toMatch(/\| missed \|/);
  });
});

describe('start-up verdict', () => {
  it('judges `npm start` (with its prestart build) when it was measured', async () => {
    const rep = await import('../../../bench/lib/report.mjs');
    const base = { fanout: [], batched: null, ingest: null, valuation: null, errors: [] };
    const fast = rep.evaluateTargets({ ...base, startup: { coldMs: 3_000, warm: { runs: [1_500], medianMs: 1_500 } } });
    expect(fast.find((t) => t.id === 'startup')?.status).toBe('met');
    const withBuild = rep.evaluateTargets({ ...base, startup: { coldMs: 3_000, warm: { runs: [1_500], medianMs: 1_500 }, npmStartMs: 15_000 } });
    expect(withBuild.find((t) => t.id === 'startup')?.status).toBe('missed');
  });
});

describe('memory verdict', () => {
  it('compares RSS per connection from C=5,000 and the heap below it', async () => {
    const rep = await import('../../../bench/lib/report.mjs');
    const row = (target: string, clients: number, rss: number, heap: number) => ({
      target,
      clients,
      best: null,
      memory: { rssPerConnKB: rss, heapPerConnKB: heap },
    });
    const base = { batched: null, ingest: null, valuation: null, startup: null, errors: [] };
    const small = rep.evaluateTargets({ ...base, fanout: [row('ws-reference', 1_000, 15, 4), row('ws-project', 1_000, 1, 6)] });
    expect(small.find((t) => t.id === 'ws-memory')?.status).toBe('missed'); // heap 6 / 4 = 1.5
    const large = rep.evaluateTargets({
      ...base,
      fanout: [row('ws-reference', 1_000, 15, 4), row('ws-project', 1_000, 1, 6), row('ws-reference', 5_000, 9, 3.3), row('ws-project', 5_000, 5.3, 3.6)],
    });
    expect(large.find((t) => t.id === 'ws-memory')?.status).toBe('met'); // RSS 5.3 / 9 at C=5,000
  });
});

describe('bus-less reference verdicts (issue 16)', () => {
  const withCpu = (b: ReturnType<typeof best>, serverUsPerDelivery: number) => ({ ...b, serverUsPerDelivery });
  const busless = (overrides: Record<string, unknown> = {}) =>
    results({
      fanout: [
        fan('ws-reference', 1_000, withCpu(best(70_000, 40), 11)),
        { ...fan('ws-reference-busless', 1_000, withCpu(best(90_000, 30), 8)), vs: 'ws-reference' },
        { ...fan('ws-project', 1_000, withCpu(best(88_000, 50), 7.9)), vs: 'ws-reference', vsBusless: 'ws-reference-busless' },
        fan('ws-reference', 5_000, withCpu(best(60_000, 40), 12), 9),
        { ...fan('ws-reference-busless', 5_000, withCpu(best(80_000, 30), 9), 8), vs: 'ws-reference' },
        { ...fan('ws-project', 5_000, withCpu(best(82_000, 50), 9.5), 11), vs: 'ws-reference', vsBusless: 'ws-reference-busless' },
        fan('sio-reference', 5_000, withCpu(best(40_000, 40), 19), 18),
        { ...fan('sio-reference-busless', 5_000, withCpu(best(50_000, 40), 15), 17), vs: 'sio-reference' },
        { ...fan('sio-project', 5_000, withCpu(best(48_000, 40), 14), 16), vs: 'sio-reference', vsBusless: 'sio-reference-busless' },
      ],
      batched: { ...fan('ws-project-batched', 5_000, best(170_000, 80, 17_000)), vs: 'ws-reference', vsBusless: 'ws-reference-busless' },
      ...overrides,
    });

  it('judges CPU per delivery (<= 1.0x) and deliveries/s (>= 0.95x) against the bus-less reference per C', () => {
    const v = Object.fromEntries(r.evaluateTargets(busless()).map((t) => [t.id, t.status]));
    expect(v['ws-busless-1000']).toBe('met'); // 88/90 = 0.98, 7.9/8 = 0.99
    expect(v['ws-busless-5000']).toBe('missed'); // 82/80 = 1.03, but 9.5/9 = 1.06 CPU
    expect(v['sio-busless-5000']).toBe('met'); // 48/50 = 0.96, 14/15 = 0.93 CPU
    expect(v['sio-busless-1000']).toBe('not measured'); // no Socket.IO group at C=1,000 here
  });

  it('prints the ratio against both references on every comparing goal', () => {
    const verdicts = r.evaluateTargets(busless());
    for (const id of ['ws-fanout', 'sio-fanout', 'ws-busless-5000', 'ws-busless-1000', 'batched', 'batched-busless', 'ws-memory', 'ws-memory-busless']) {
      const m = verdicts.find((t) => t.id === id)?.measured ?? '';
      expect(m, id).toContain('vs Redis-fed reference');
      expect(m, id).toContain('vs bus-less reference');
    }
    const text = r.renderReport({ ...busless(), targets: verdicts, durationSec: 1 });
    expect(text).toContain('### Ratios to the references');
    expect(text).toContain('| ws-project | 5,000 | bus-less reference (ws-reference-busless) |');
    expect(text).toContain('| ws-reference-busless | 5,000 | Redis-fed reference (ws-reference) |');
  });

  it('batched frames against 2x the bus-less reference, memory against 1.3x it', () => {
    const v = Object.fromEntries(r.evaluateTargets(busless()).map((t) => [t.id, t.status]));
    expect(v.batched).toBe('met'); // 170/60 = 2.83 vs the Redis-fed reference
    expect(v['batched-busless']).toBe('met'); // 170/80 = 2.13
    expect(v['ws-memory-busless']).toBe('missed'); // RSS 11 / 8 = 1.38 at C=5,000
    expect(v['ws-memory']).toBe('met'); // RSS 11 / 9 = 1.22
    expect(v['sio-memory-busless']).toBe('met'); // RSS 16 / 17 = 0.94
  });

  it('judges p99 at 75% of the bus-less saturation rate (<= 1.5x) only when both ran at the same rate', () => {
    const atLoad = (rate: number, p99: number) => ({ rate, ofBuslessSaturation: 0.75, runs: 3, deliveriesPerSec: 1, deliveredRatio: 1, p50: 1, p99 });
    const rows = busless().fanout.map((f) => {
      if (f.clients !== 5_000) return f;
      if (f.target === 'ws-reference-busless') return { ...f, atLoad: atLoad(600, 20) };
      if (f.target === 'ws-project') return { ...f, atLoad: atLoad(600, 29) }; // 1.45x
      if (f.target === 'sio-reference-busless') return { ...f, atLoad: atLoad(400, 10) };
      if (f.target === 'sio-project') return { ...f, atLoad: atLoad(400, 16) }; // 1.6x
      return f;
    });
    const verdicts = r.evaluateTargets(busless({ fanout: rows }));
    const v = Object.fromEntries(verdicts.map((t) => [t.id, t.status]));
    expect(v['ws-latency-5000']).toBe('met');
    expect(v['sio-latency-5000']).toBe('missed');
    expect(v['ws-latency-1000']).toBe('not measured');
    expect(verdicts.find((t) => t.id === 'ws-latency-5000')?.measured).toContain('= 1.45x');
    // Not at the same rate: not compared.
    const other = rows.map((f) => (f.target === 'ws-project' && f.clients === 5_000 ? { ...f, atLoad: atLoad(500, 29) } : f));
    expect(r.evaluateTargets(busless({ fanout: other })).find((t) => t.id === 'ws-latency-5000')?.status).toBe('not measured');
    expect(r.renderReport({ ...busless({ fanout: rows }), targets: verdicts, durationSec: 1 })).toContain('29 / 20 = 1.45x at 600 ticks/s');
  });

  it('says "not measured" for a C or a reference the run did not have', () => {
    const v = Object.fromEntries(r.evaluateTargets(results()).map((t) => [t.id, t.status]));
    expect(v['ws-busless-5000']).toBe('not measured');
    expect(v['sio-busless-1000']).toBe('not measured');
    expect(v['batched-busless']).toBe('not measured');
    expect(v['ws-memory-busless']).toBe('not measured');
    expect(v['ws-fanout']).toBe('met'); // the issue-6 lines still judge against the Redis-fed reference
  });
});
