import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { register } from 'prom-client';
import { BusDropLog, busMetrics } from './bus-drops';

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = await register.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('BusDropLog', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('counts every drop at once, logs the first at once and then at most one summary line per interval', async () => {
    const lines: string[] = [];
    const log = new BusDropLog({ intervalMs: 60_000, logger: { warn: (m: string) => lines.push(m) } });
    const before = await metric('realtime_bus_messages_dropped_total', { topic: 'prices.committed', reason: 'bad_signature' });
    const beforeTicks = await metric('realtime_bus_ticks_dropped_total', { reason: 'not_positive' });

    log.message('prices.committed', 'bad_signature');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Dropped 1 message\(s\) \(prices\.committed: bad_signature 1\) received on the Redis bus just now: /);

    // A flood within the interval: counted, not logged.
    for (let i = 0; i < 10_000; i++) log.message(i % 2 ? 'portfolio.changed' : 'prices.committed', i % 3 ? 'bad_signature' : 'invalid');
    log.droppedTicks(['not_positive', 'not_positive', 'future_timestamp']);
    vi.advanceTimersByTime(59_000);
    expect(lines).toHaveLength(1);
    expect(await metric('realtime_bus_messages_dropped_total', { topic: 'prices.committed', reason: 'bad_signature' })).toBe(before + 1 + 3333);
    expect(await metric('realtime_bus_ticks_dropped_total', { reason: 'not_positive' })).toBe(beforeTicks + 2);

    // The interval is over: one summary of everything since, by topic and reason.
    vi.advanceTimersByTime(1_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'Dropped 10000 message(s) (portfolio.changed: bad_signature 3333, invalid 1667; prices.committed: bad_signature 3333, invalid 1667) ' +
        'and 3 invalid tick(s) of price batches (future_timestamp 1, not_positive 2) received on the Redis bus in the last 60 s: ' +
        'unsigned, wrongly signed or invalid (realtime_bus_messages_dropped_total; next summary in 60 s at the earliest)',
    );

    // Quiet: nothing more is logged.
    vi.advanceTimersByTime(300_000);
    expect(lines).toHaveLength(2);
    // The next drop after a quiet interval is logged at once again.
    log.message('session.ended', 'invalid');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^Dropped 1 message\(s\) \(session\.ended: invalid 1\)/);
    log.message('session.ended', 'invalid');
    log.close(); // shutdown: what is pending is logged, the timer is gone
    expect(lines).toHaveLength(4);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('registers its counters once on the default registry (GET /metrics)', () => {
    expect(register.getSingleMetric('realtime_bus_messages_dropped_total')).toBe(busMetrics.messagesDropped);
    expect(register.getSingleMetric('realtime_bus_ticks_dropped_total')).toBe(busMetrics.ticksDropped);
  });
});
