import { Logger } from '@nestjs/common';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BusSigner } from './bus-signer';
import { MAX_BUS_MESSAGE_CHARS } from './bus-message.validator';
import type { BusMessages } from './bus.messages';
import { RedisBus } from './redis.bus';

const SECRET = 'unit-test-bus-secret-0123456789-abcdefghij';

async function dropped(topic: string, reason: string): Promise<number> {
  const m = await register.getSingleMetric('realtime_bus_messages_dropped_total')!.get();
  return m.values.find((v) => v.labels.topic === topic && v.labels.reason === reason)?.value ?? 0;
}

/**
 * The receive path of RedisBus without a Redis (its clients retry a closed port meanwhile):
 * what reaches handlers, what is dropped and counted. The e2e tests do the same over a real Redis.
 */
describe('RedisBus receive path', () => {
  let bus: RedisBus;
  const warnings: string[] = [];
  const got: { prices: BusMessages['prices.committed'][]; portfolio: BusMessages['portfolio.changed'][]; session: BusMessages['session.ended'][] } = {
    prices: [],
    portfolio: [],
    session: [],
  };
  const signer = new BusSigner(SECRET);
  const dispatch = (topic: string, raw: unknown) => (bus as unknown as { dispatch(t: string, r: unknown): void }).dispatch(topic, raw);

  beforeAll(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)));
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    bus = new RedisBus('redis://127.0.0.1:1', 'rmunit:', undefined, { secret: SECRET });
    bus.subscribe('prices.committed', (m) => got.prices.push(m));
    bus.subscribe('portfolio.changed', (m) => got.portfolio.push(m));
    bus.subscribe('session.ended', (m) => got.session.push(m));
  });
  afterAll(async () => {
    await bus.onApplicationShutdown();
    vi.restoreAllMocks();
  });

  it('hands out only correctly signed, valid messages, rebuilt to their exact types', async () => {
    const tick = {
      symbol: 'AAPL',
      price: '201.01',
      previous_close: '200',
      high: '202',
      low: '199',
      volume: '10',
      as_of: new Date().toISOString(),
      source: 'test',
    };
    dispatch(
      'prices.committed',
      signer.seal('prices.committed', JSON.stringify({ ticks: [tick, { ...tick, symbol: 'GOOGL', price: '-5' }], published_at: 1, origin: 'x', junk: 1 })),
    );
    dispatch('portfolio.changed', signer.seal('portfolio.changed', JSON.stringify({ portfolio_id: 1, owner_id: 2, deleted: true })));
    dispatch('session.ended', signer.seal('session.ended', JSON.stringify({ session_id: 'abc', user_id: 2 })));
    expect(got.prices).toEqual([{ ticks: [tick], published_at: 1, origin: 'x' }]);
    expect(got.portfolio).toEqual([{ portfolio_id: 1, owner_id: 2, deleted: true }]);
    expect(got.session).toEqual([{ session_id: 'abc', user_id: 2 }]);
  });

  it('drops and counts everything else, by topic and reason, without throwing', async () => {
    const other = new BusSigner('another-bus-secret-0123456789-abcdefghijkl');
    const cases: [string, unknown, string][] = [
      ['portfolio.changed', 'null', 'bad_signature'],
      ['portfolio.changed', '{"portfolio_id":1,"owner_id":2}', 'bad_signature'],
      ['portfolio.changed', other.seal('portfolio.changed', '{"portfolio_id":1,"owner_id":2}'), 'bad_signature'],
      ['portfolio.changed', signer.seal('session.ended', '{"portfolio_id":1,"owner_id":2}'), 'bad_signature'],
      ['portfolio.changed', signer.seal('portfolio.changed', 'null'), 'invalid'],
      ['portfolio.changed', signer.seal('portfolio.changed', '{not json'), 'not_json'],
      ['portfolio.changed', Buffer.from('null'), 'bad_signature'],
      ['session.ended', signer.seal('session.ended', '{"session_id":1,"user_id":2}'), 'invalid'],
      ['prices.committed', 'x'.repeat(MAX_BUS_MESSAGE_CHARS + 1), 'too_large'],
      [
        'prices.committed',
        signer.seal('prices.committed', JSON.stringify({ ticks: [{ symbol: 'AAPL', price: 'NaN' }], published_at: 1, origin: 'x' })),
        'not_finite',
      ],
    ];
    const before = await Promise.all(cases.map(([t, , r]) => dropped(t, r)));
    const want = new Map<string, number>();
    cases.forEach(([t, , r], i) => want.set(`${t} ${r}`, (want.get(`${t} ${r}`) ?? before[i]) + 1));
    for (const [topic, raw] of cases) expect(() => dispatch(topic, raw)).not.toThrow();
    for (const [key, n] of want) {
      const [t, r] = key.split(' ');
      expect(await dropped(t, r), key).toBe(n);
    }
    expect(got.prices).toHaveLength(1);
    expect(got.portfolio).toHaveLength(1);
    expect(got.session).toHaveLength(1);
    // One line for all of them (the first drop; the rest wait for the next interval), no stack.
    const drops = warnings.filter((w) => w.startsWith('Dropped'));
    expect(drops).toHaveLength(1);
    expect(drops[0]).not.toMatch(/\n/);
  });

  it('ignores channels that are not its topics', () => {
    expect(() => dispatch('other.topic', signer.seal('other.topic', '{}'))).not.toThrow();
    expect(() => dispatch('__proto__', 'x')).not.toThrow();
  });

  it('refuses to start without a usable secret', () => {
    expect(() => new RedisBus('redis://127.0.0.1:1', 'rmunit:', undefined, { secret: 'short' })).toThrow(/at least 32/);
  });
});
