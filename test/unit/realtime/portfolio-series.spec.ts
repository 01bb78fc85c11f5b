import { describe, expect, it } from 'vitest';
import type { IntradayPoint, RecordedPoint } from '../../../src/portfolios/intraday/intraday-points';
import type { IntradaySeriesService } from '../../../src/portfolios/intraday/intraday-series.service';
import type { Connection } from '../../../src/realtime/hub/connection';
import { MessageParser } from '../../../src/realtime/hub/message-parser';
import { PortfolioSeriesPushes } from '../../../src/realtime/hub/portfolio-series';
import type { RealtimeHub } from '../../../src/realtime/hub/realtime-hub.service';
import { clientEnvelopeSchema } from '../../../src/realtime/protocol/message-schemas';
import { checkSchema } from '../../support/json-schema-lite';

/**
 * PortfolioSeriesPushes on its own: a fake hub (records what is pushed) and a fake series
 * service (the test decides when a read answers and when points are recorded). The real thing
 * end to end: test/e2e/portfolio-intraday.e2e-spec.ts.
 */
class Harness {
  readonly pushed: { conn: string; type: string; data: unknown }[] = [];
  private releaseHooks: ((conn: Connection) => void)[] = [];
  private recorded: ((points: readonly RecordedPoint[]) => void) | null = null;
  private reads: { resolve: (p: IntradayPoint[]) => void; reject: (e: Error) => void }[] = [];
  readonly pushes: PortfolioSeriesPushes;

  constructor() {
    const hub = {
      onRelease: (hook: (conn: Connection) => void) => this.releaseHooks.push(hook),
      push: (conn: Connection & { name: string }, type: string, data: unknown) => {
        if (conn.open) this.pushed.push({ conn: conn.name, type, data });
      },
    } as unknown as RealtimeHub;
    const series = {
      onRecorded: (l: (points: readonly RecordedPoint[]) => void) => {
        this.recorded = l;
        return () => (this.recorded = null);
      },
      series: () => new Promise<IntradayPoint[]>((resolve, reject) => this.reads.push({ resolve, reject })),
    } as unknown as IntradaySeriesService;
    this.pushes = new PortfolioSeriesPushes(hub, series);
    this.pushes.onApplicationBootstrap();
  }

  conn(name: string, userId: number, portfolios: number[]): Connection & { name: string } {
    return { name, userId, open: true, portfolios: new Set(portfolios) } as unknown as Connection & { name: string };
  }

  record(...points: [portfolioId: number, ownerId: number, t: string, value: string][]): void {
    this.recorded?.(points.map(([portfolioId, ownerId, t, value]) => ({ portfolioId, ownerId, t, value })));
  }

  /** Answers the oldest pending series read. */
  answer(points: IntradayPoint[] | Error): void {
    const r = this.reads.shift()!;
    if (points instanceof Error) r.reject(points);
    else r.resolve(points);
  }

  release(conn: Connection): void {
    conn.open = false;
    for (const h of this.releaseHooks) h(conn);
  }

  types(conn: string): string[] {
    return this.pushed.filter((p) => p.conn === conn).map((p) => p.type);
  }
}

const T = (m: number) => `2026-01-15T10:${String(m).padStart(2, '0')}:00.000Z`;

describe('PortfolioSeriesPushes', () => {
  it('sends the series, then the points recorded while it was read that it does not hold, then live points, to those who asked', async () => {
    const h = new Harness();
    const a = h.conn('a', 1, [7]);
    const plain = h.conn('plain', 1, [7]);
    expect(h.pushes.want(a, 7, '1d')).toBe(true);
    expect(h.pushes.want(plain, 7, undefined)).toBe(false);
    const sent = h.pushes.send(a, 7);
    // Recorded while the series is read: one it will hold, one it will not.
    h.record([7, 1, T(1), '10']);
    h.record([7, 1, T(2), '11']);
    expect(h.pushed).toEqual([]);
    h.answer([
      { t: T(0), value: '9' },
      { t: T(1), value: '10' },
    ]);
    await sent;
    h.record([7, 1, T(3), '12']);
    expect(h.pushed).toEqual([
      {
        conn: 'a',
        type: 'portfolio_series',
        data: {
          portfolio_id: 7,
          range: '1d',
          points: [
            { t: T(0), value: '9' },
            { t: T(1), value: '10' },
          ],
        },
      },
      { conn: 'a', type: 'portfolio_point', data: { portfolio_id: 7, t: T(2), value: '11' } },
      { conn: 'a', type: 'portfolio_point', data: { portfolio_id: 7, t: T(3), value: '12' } },
    ]);
    expect(h.types('plain')).toEqual([]);
  });

  it('a subscribe without series stops the points; one with series again starts over with a fresh series', async () => {
    const h = new Harness();
    const a = h.conn('a', 1, [7]);
    h.pushes.want(a, 7, '1d');
    const first = h.pushes.send(a, 7);
    h.answer([]);
    await first;
    h.pushes.want(a, 7, undefined);
    h.record([7, 1, T(1), '10']);
    expect(h.types('a')).toEqual(['portfolio_series']);
    expect(h.pushes.watcherCount(7)).toBe(0);

    h.pushes.want(a, 7, '1d');
    const again = h.pushes.send(a, 7);
    h.answer([{ t: T(1), value: '10' }]);
    await again;
    h.record([7, 1, T(2), '11']);
    expect(h.types('a')).toEqual(['portfolio_series', 'portfolio_series', 'portfolio_point']);
  });

  it('a series read superseded by a newer subscribe is dropped; so is one for a connection that left the portfolio', async () => {
    const h = new Harness();
    const a = h.conn('a', 1, [7]);
    h.pushes.want(a, 7, '1d');
    const stale = h.pushes.send(a, 7);
    h.pushes.want(a, 7, '1d');
    const fresh = h.pushes.send(a, 7);
    h.answer([{ t: T(0), value: 'old' }]);
    h.answer([{ t: T(0), value: 'new' }]);
    await Promise.all([stale, fresh]);
    expect(h.pushed.map((p) => (p.data as { points: IntradayPoint[] }).points[0].value)).toEqual(['new']);

    const b = h.conn('b', 1, [8]);
    h.pushes.want(b, 8, '1d');
    const left = h.pushes.send(b, 8);
    b.portfolios!.delete(8); // unsubscribed meanwhile
    h.answer([]);
    await left;
    h.record([8, 1, T(1), '1']);
    expect(h.types('b')).toEqual([]);
    expect(h.pushes.watcherCount(8)).toBe(0);
  });

  it('points go only to the owner’s connections, and a connection that goes is forgotten at once', async () => {
    const h = new Harness();
    const owner = h.conn('owner', 1, [7, 8]);
    const intruder = h.conn('intruder', 2, [7]); // cannot happen past the ownership guard: defence in depth
    for (const [c, id] of [
      [owner, 7],
      [owner, 8],
      [intruder, 7],
    ] as const) {
      h.pushes.want(c, id, '1d');
      const s = h.pushes.send(c, id);
      h.answer([]);
      await s;
    }
    h.record([7, 1, T(1), '10'], [8, 1, T(1), '20']);
    expect(h.types('owner')).toEqual(['portfolio_series', 'portfolio_series', 'portfolio_point', 'portfolio_point']);
    expect(h.types('intruder')).toEqual(['portfolio_series']);
    h.release(owner);
    expect(h.pushes.watcherCount(8)).toBe(0);
    expect(h.pushes.watcherCount(7)).toBe(1);
  });

  it('a failed series read is logged; the live points flow anyway', async () => {
    const h = new Harness();
    const a = h.conn('a', 1, [7]);
    h.pushes.want(a, 7, '1d');
    const s = h.pushes.send(a, 7);
    h.record([7, 1, T(1), '10']);
    h.answer(new Error('database unavailable'));
    await s;
    h.record([7, 1, T(2), '11']);
    expect(h.pushed).toEqual([
      { conn: 'a', type: 'portfolio_point', data: { portfolio_id: 7, t: T(1), value: '10' } },
      { conn: 'a', type: 'portfolio_point', data: { portfolio_id: 7, t: T(2), value: '11' } },
    ]);
  });
});

describe('subscribe_portfolio `series`: the parser and the AsyncAPI schema agree', () => {
  const parser = new MessageParser();

  it.each([
    { portfolio_id: 7, series: '1d' },
    { portfolio_id: '7', series: '1d', since_seq: 3 },
  ])('accepts %j', (data) => {
    const message = { type: 'subscribe_portfolio', data };
    const parsed = parser.parseValue(structuredClone(message));
    expect(parsed.ok ? parsed.message.data : parsed.error.message).toMatchObject({ portfolio_id: 7, series: '1d' });
    if (typeof data.portfolio_id === 'number') expect(checkSchema(message, clientEnvelopeSchema('subscribe_portfolio'))).toEqual([]);
  });

  it.each(['1w', '1D', '', 1, true, ['1d'], { range: '1d' }])('refuses series %j with VALIDATION_FAILED naming the field, and so does the schema', (series) => {
    const message = { type: 'subscribe_portfolio', data: { portfolio_id: 7, series } };
    const parsed = parser.parseValue(structuredClone(message));
    expect(parsed.ok ? 'accepted' : { code: parsed.error.code, details: parsed.error.details }).toEqual({
      code: 'VALIDATION_FAILED',
      details: ['data.series: series must be one of: 1d'],
    });
    expect(checkSchema(message, clientEnvelopeSchema('subscribe_portfolio'))).not.toEqual([]);
  });
});
