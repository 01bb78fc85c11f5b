import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BusSigner } from '../../src/bus/bus-signer';
import { MAX_TICKS_PER_MESSAGE } from '../../src/bus/bus-message.validator';
import { MessageBus } from '../../src/bus/message-bus';
import { LiveValuationService } from '../../src/portfolios/valuation/live-valuation.service';
import { startTestApp, type TestApp } from '../support/app';
import { metricSamples, OutputCapture, observe, STACK_LINE } from '../support/output-capture';
import { poll } from '../support/poll';
import { addPosition, createPortfolio, loginAs, publishTicks, tick } from '../support/realtime-fixtures';
import { WsProbe, type Envelope } from '../support/realtime-probes';

const REDIS_URL = inject('redisUrl');
const SECRET = 'bus-hostile-secret-0123456789-abcdefghijklmn';
const WRONG_KEY = 'not-the-bus-secret-0123456789-abcdefghijklm';

type Topic = 'prices.committed' | 'portfolio.changed' | 'session.ended';
const TOPICS: Topic[] = ['prices.committed', 'portfolio.changed', 'session.ended'];

const DROPPED = 'realtime_bus_messages_dropped_total';
const TICKS_DROPPED = 'realtime_bus_ticks_dropped_total';
/** The drop summary BusDropLog writes (at most once a minute). */
const DROP_LINE = /Dropped .* received on the Redis bus/;

async function metrics(t: TestApp): Promise<string> {
  const res = await fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

/** Counter values by "topic reason" (messages) or "reason" (ticks). */
function counts(exposition: string, name: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of metricSamples(exposition, name)) m.set(s.labels.topic ? `${s.labels.topic} ${s.labels.reason}` : s.labels.reason, s.value);
  return m;
}

function delta(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) out[k] = v - (before.get(k) ?? 0);
  return out;
}

/**
 * A real API on a Redis bus, and a raw ioredis client publishing whatever an attacker with
 * access to Redis could: garbage, wrong types, huge arrays, well-formed but unsigned or
 * wrongly signed messages, and (to exercise the schema checks behind the signature) invalid
 * messages signed with the right key. The API must keep serving, no forged value may reach a
 * client or a valuation, every drop is counted by topic and reason, and the log gets one line.
 */
describe('hostile messages on the Redis bus', { timeout: 120_000 }, () => {
  const prefix = `rmtest-hostile-${randomBytes(6).toString('hex')}:`;
  const out = new OutputCapture();
  const signer = new BusSigner(SECRET);
  const wrong = new BusSigner(WRONG_KEY);
  let t: TestApp;
  let pub: Redis;

  beforeAll(async () => {
    out.install();
    t = await startTestApp({ REDIS_URL, REDIS_PREFIX: prefix, BUS_SECRET: SECRET, LOG_LEVEL: 'log' });
    await t.app.get(MessageBus).ready();
    pub = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    pub?.disconnect();
    try {
      await t?.close();
    } finally {
      out.restore();
    }
  });

  const raw = (topic: Topic, payload: string) => pub.publish(`${prefix}${topic}`, payload);
  const signed = (topic: Topic, body: unknown) => raw(topic, signer.seal(topic, typeof body === 'string' ? body : JSON.stringify(body)));
  const batch = (ticks: unknown[]) => ({ ticks, published_at: Date.now(), origin: 'elsewhere' });

  it('drops everything unsigned, wrongly signed or invalid, keeps serving, and never lets a forged value through', async () => {
    // A user with a portfolio (10 AAPL), and their client watching AAPL, GOOGL and the portfolio.
    const owner = await loginAs(t, `hostile-${randomBytes(3).toString('hex')}`);
    const portfolioId = await createPortfolio(t, owner.cookie, 'Hostile watch');
    await addPosition(t, owner.cookie, portfolioId, 'AAPL', '10', '100');
    const sessionId = decodeURIComponent(owner.cookie.split('=')[1]).slice(2).split('.')[0];
    expect(sessionId).toMatch(/^[\w-]{16,}$/);

    const ws = await WsProbe.open(t.wsUrl, { cookie: owner.cookie, origin: t.url });
    try {
      await ws.next('connection');
      ws.send('subscribe_asset', { symbols: ['AAPL', 'GOOGL'] });
      await ws.next('subscribed');
      const snapshots = [await ws.next('asset_update'), await ws.next('asset_update')];
      ws.send('subscribe_portfolio', { portfolio_id: portfolioId });
      await ws.next('subscribed');
      await ws.next('portfolio_update');

      // Before: prices from another process (correctly signed) and from this one reach the client and the valuation.
      expect(await signed('prices.committed', batch([tick('AAPL', '201.01')]))).toBe(1);
      await ws.next('asset_update', (m) => m.data.price === 201.01);
      await ws.next('portfolio_update', (m) => m.data.total_value === 2010.1);
      await publishTicks(t, [tick('AAPL', '202.02')]);
      await ws.next('asset_update', (m) => m.data.price === 202.02);
      await ws.next('portfolio_update', (m) => m.data.total_value === 2020.2);

      const metricsBefore = await metrics(t);
      const mark = out.lines.length;
      const expected = new Map<string, number>();
      const expectDrop = (topic: Topic, reason: string) => expected.set(`${topic} ${reason}`, (expected.get(`${topic} ${reason}`) ?? 0) + 1);
      const expectedTicks = new Map<string, number>();
      const expectTick = (reason: string) => expectedTicks.set(reason, (expectedTicks.get(reason) ?? 0) + 1);

      // Well-formed forgeries: exactly what a publisher with the key would send. Unsigned or signed with another key.
      const future = new Date(Date.now() + 365 * 24 * 3600_000).toISOString();
      const forged: [Topic, unknown][] = [
        ['prices.committed', batch([tick('AAPL', '999999.99')])],
        ['prices.committed', batch([tick('GOOGL', '-5')])],
        ['prices.committed', batch([tick('AAPL', '999999.99', { as_of: future })])],
        ['portfolio.changed', { portfolio_id: portfolioId, owner_id: owner.userId, deleted: true }],
        ['session.ended', { session_id: sessionId, user_id: owner.userId }],
      ];
      // Invalid bodies, on every channel: each is sent unsigned, with another key, and with the right key.
      const hugeArray = `[${'0,'.repeat(99_999)}0]`;
      const invalid: [Topic, string, string][] = [];
      for (const topic of TOPICS) {
        invalid.push(
          [topic, 'null', 'invalid'],
          [topic, 'not json {', 'not_json'],
          [topic, '[]', 'invalid'],
          [topic, '"AAPL"', 'invalid'],
          [topic, '42', 'invalid'],
          [topic, hugeArray, 'invalid'],
        );
      }
      const ticks = (...list: unknown[]) => JSON.stringify(batch(list));
      invalid.push(
        ['prices.committed', '{"ticks":"AAPL"}', 'invalid'],
        ['prices.committed', JSON.stringify({ ticks: [tick('AAPL', '1')], published_at: 'now', origin: 'x' }), 'invalid'],
        ['prices.committed', JSON.stringify(batch(new Array(MAX_TICKS_PER_MESSAGE + 10).fill(0))), 'too_many_ticks'],
        ['prices.committed', ticks(tick('AAPL', '-5')), 'not_positive'],
        ['prices.committed', ticks(tick('GOOGL', '-5')), 'not_positive'],
        ['prices.committed', ticks(tick('AAPL', '0')), 'not_positive'],
        ['prices.committed', ticks(tick('AAPL', 'NaN')), 'not_finite'],
        ['prices.committed', ticks(tick('AAPL', 'Infinity')), 'not_finite'],
        ['prices.committed', ticks(tick('AAPL', '-Infinity')), 'not_finite'],
        ['prices.committed', ticks(tick('AAPL', '999999.99', { as_of: future })), 'future_timestamp'],
        ['prices.committed', ticks(tick('AAPL', '999999.99', { as_of: 'soon' })), 'bad_timestamp'],
        ['prices.committed', ticks(tick('AAPL', '1e400')), 'out_of_range'],
        ['prices.committed', ticks({ ...tick('AAPL', '1'), price: 999999.99 }), 'malformed'],
        ['prices.committed', ticks(tick('<img src=x>', '1')), 'bad_symbol'],
        ['prices.committed', ticks(0, null, 'AAPL'), 'malformed'],
        ['portfolio.changed', JSON.stringify({ portfolio_id: String(portfolioId), owner_id: owner.userId, deleted: true }), 'invalid'],
        ['portfolio.changed', JSON.stringify({ portfolio_id: null, owner_id: owner.userId }), 'invalid'],
        ['portfolio.changed', JSON.stringify({ portfolio_id: -portfolioId, owner_id: owner.userId, deleted: true }), 'invalid'],
        ['session.ended', JSON.stringify({ session_id: 12345, user_id: owner.userId }), 'invalid'],
        ['session.ended', JSON.stringify({ session_id: sessionId }), 'invalid'],
      );

      for (const [topic, body] of forged) {
        const text = JSON.stringify(body);
        await raw(topic, text);
        await raw(topic, wrong.seal(topic, text));
        expectDrop(topic, 'bad_signature');
        expectDrop(topic, 'bad_signature');
      }
      // Signed for another channel, replayed on this one.
      await raw('portfolio.changed', signer.seal('prices.committed', JSON.stringify(forged[3][1])));
      expectDrop('portfolio.changed', 'bad_signature');
      for (const [topic, body, reason] of invalid) {
        await raw(topic, body);
        await raw(topic, wrong.seal(topic, body));
        await raw(topic, signer.seal(topic, body));
        expectDrop(topic, 'bad_signature');
        expectDrop(topic, 'bad_signature');
        expectDrop(topic, reason);
        if (topic === 'prices.committed' && !['invalid', 'too_many_ticks', 'not_json'].includes(reason)) {
          // A batch whose every tick is bad: each tick is counted, the batch is dropped with the first one's reason.
          for (const _ of (JSON.parse(body) as { ticks: unknown[] }).ticks) expectTick(reason);
        }
      }
      // A signed batch with one bad tick among good ones: the good ones are delivered, the bad one counted.
      await signed('prices.committed', batch([tick('AAPL', 'NaN'), tick('MSFT', '401.01')]));
      expectTick('not_finite');

      // The last message of this connection: once the client has it, Redis has delivered everything before it.
      await signed('prices.committed', batch([tick('AAPL', '203.03')]));
      await ws.next('asset_update', (m) => m.data.price === 203.03);
      await ws.next('portfolio_update', (m) => m.data.total_value === 2030.3);

      // Counted, by topic and reason: exactly what was published.
      const wantMessages = Object.fromEntries(expected);
      const wantTicks = Object.fromEntries(expectedTicks);
      await poll(
        'the drop counters',
        async () => {
          const now = await metrics(t);
          return JSON.stringify(sortKeys(delta(counts(now, DROPPED), counts(metricsBefore, DROPPED)))) === JSON.stringify(sortKeys(wantMessages));
        },
        10_000,
      ).catch(() => undefined);
      const after = await metrics(t);
      expect(sortKeys(delta(counts(after, DROPPED), counts(metricsBefore, DROPPED)))).toEqual(sortKeys(wantMessages));
      expect(sortKeys(delta(counts(after, TICKS_DROPPED), counts(metricsBefore, TICKS_DROPPED)))).toEqual(sortKeys(wantTicks));
      expect(after).toMatch(/realtime_bus_messages_dropped_total\{topic="prices\.committed",reason="bad_signature"\} \d+/);

      // Nothing forged reached the client: only the real prices, no unsubscription.
      const allowed = new Set([...snapshots.map((m) => m.data.price), 201.01, 202.02, 203.03]);
      const updates = ws.inbox.received.filter((m) => m.type === 'asset_update');
      expect(updates.filter((m) => !allowed.has(m.data.price)).map((m) => m.data)).toEqual([]);
      expect(updates.some((m: Envelope) => m.data.price === 999999.99 || m.data.price <= 0)).toBe(false);
      expect(ws.inbox.received.filter((m) => m.type === 'unsubscribed' || m.type === 'error')).toEqual([]);
      const totals = ws.inbox.received.filter((m) => m.type === 'portfolio_update').map((m) => m.data.total_value);
      expect(totals.filter((v) => v > 100_000)).toEqual([]);

      // Nor the valuation: 10 × 203.03.
      const v = await t.app.get(LiveValuationService).snapshot(portfolioId);
      expect(Number(v?.total_value)).toBe(2030.3);
      expect(v?.positions_count).toBe(1);

      // Still serving REST.
      const health = await fetch(`${t.url}/health`, { signal: AbortSignal.timeout(5_000) });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', bus: 'redis', redis: 'up' });
      expect((await fetch(`${t.url}/api/assets/AAPL`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);

      // The log: one line for the whole flood (the next summary comes a minute later at the earliest), no stack trace.
      await observe(1_000);
      const dropLines = out.match(DROP_LINE, mark);
      expect(dropLines).toHaveLength(1);
      expect(dropLines[0]).toMatch(/WARN/);
      expect(out.match(STACK_LINE, mark)).toEqual([]);
      expect(out.match(/Unhandled|TypeError|Handler for .* failed|Reloading portfolio/, mark)).toEqual([]);

      // Correctly signed messages of the other topics still work: a change reloads the portfolio, a logout ends the subscription.
      await signed('portfolio.changed', { portfolio_id: portfolioId, owner_id: owner.userId });
      await ws.next('portfolio_update', (m) => m.data.portfolio_id === portfolioId && m.data.total_value === 2030.3);
      await signed('session.ended', { session_id: sessionId, user_id: owner.userId });
      const gone = await ws.next('unsubscribed');
      expect(gone.data).toMatchObject({ portfolios: [portfolioId], reason: 'session_ended' });
    } finally {
      await ws.close();
    }
  });
});

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
