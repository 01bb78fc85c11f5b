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
