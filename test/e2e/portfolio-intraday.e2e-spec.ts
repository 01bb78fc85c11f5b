import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { D } from '../../src/common/decimal';
import { IntradayRecorderService } from '../../src/portfolios/intraday/intraday-recorder.service';
import { IntradaySeriesService } from '../../src/portfolios/intraday/intraday-series.service';
import { PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { createMigratedDataSource, sql } from '../support/database';
import { undoMigrationsThrough } from '../support/migrations';
import { poll } from '../support/poll';
import { addAssets, addPosition, api, commitPrices, createPortfolio, loginAs } from '../support/realtime-fixtures';
import { openProbe, Probe } from '../support/realtime-probes';

/** A recording interval short enough for a test (PORTFOLIO_INTRADAY_INTERVAL, seconds): 200 ms. */
const INTERVAL_S = '0.2';
const INTERVAL_MS = 200;

interface StoredPoint {
  t: string;
  value: string;
}

/**
 * The intraday value series (issue 15) on the real app, PostgreSQL and both socket transports:
 * the recorder values every portfolio each PORTFOLIO_INTRADAY_INTERVAL and writes a point when its
 * value moved; GET /api/portfolios/{id}/history?range=1d returns them; `subscribe_portfolio` with
 * `series: '1d'` gets them (portfolio_series) and then each new one (portfolio_point).
 */
describe('portfolio intraday value series', () => {
  let t: TestApp;
  let owner: { cookie: string; userId: number };
  let other: { cookie: string; userId: number };
  const open: Probe[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await startTestApp({ PORTFOLIO_INTRADAY_INTERVAL: INTERVAL_S });
    owner = await loginAs(t, 'intraday-owner');
    other = await loginAs(t, 'intraday-other');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await poll('all connections released', () => t.app.get(RealtimeHub).stats().total_connections === 0);
  });
  afterAll(async () => {
    await t?.close();
  });

  const recorder = () => t.app.get(IntradayRecorderService);

  /** The stored points of a portfolio, oldest first, as the API writes them. */
  const stored = (id: number) =>
    sql<StoredPoint>(
      t.databaseUrl,
      `SELECT to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t, trim_scale(value)::text AS value
         FROM portfolio_value_points WHERE portfolio_id = $1 ORDER BY minute`,
      [id],
    );

  /** Waits until the recorder has completed `count` more recording intervals (each one values every portfolio). */
  async function intervals(count: number): Promise<void> {
    const from = recorder().stats.ticks;
    await poll(`${count} more recording intervals`, () => recorder().stats.ticks >= from + count);
  }

  /** A fresh portfolio holding `quantity` of a fresh symbol priced `price`, once the live valuation holds the position. */
  async function holding(quantity: string, price: string): Promise<{ id: number; sym: string }> {
    const sym = `ID${++n}X`;
    await addAssets(t, [sym], price);
    const id = await createPortfolio(t, owner.cookie, `Intraday ${n}`);
    await addPosition(t, owner.cookie, id, sym, quantity, price);
    const valuations = t.app.get(PortfolioValuationSource);
    await poll('the live valuation to hold the position', async () => (await valuations.snapshot(id))?.positions_count === 1);
    return { id, sym };
  }

  /** Waits until the last stored point of a portfolio has this value; returns the points. */
  const recorded = (id: number, value: string) =>
    poll(`a point of ${value} for portfolio ${id}`, async () => {
      const points = await stored(id);
      return points.at(-1)?.value === value ? points : null;
    });

  async function connect(kind: 'websocket' | 'socketio', cookie = owner.cookie): Promise<Probe> {
    const p = await openProbe(kind, t, { origin: t.url, cookie });
    open.push(p);
    await p.next('connection');
    return p;
  }

  /** A ping answered: everything the server sent this connection before it has arrived. */
  async function roundTrip(p: Probe, id: string): Promise<void> {
    p.send('ping', {}, id);
    await p.next('pong', (m) => m.id === id);
  }

  it('records a point of exactly quantity × price when the price moves, and none while nothing moves', async () => {
    const { id, sym } = await holding('2.5', '40');
    // The portfolio was valued 0 while it was still empty (a point then, if an interval fell in between), then 100.
    const before = await recorded(id, '100');
    expect(before.map((p) => p.value)).toEqual(before.length === 2 ? ['0', '100'] : ['100']);

    await commitPrices(t, [[sym, '41.37']]);
    const expected = D('2.5').times('41.37').toString();
    expect(expected).toBe('103.425');
    const points = await recorded(id, expected);
    expect(points).toEqual([...before, { t: expect.any(String), value: '103.425' }]);
    // Stamped with the start of their recording interval, one point per interval.
    for (const p of points) expect(Date.parse(p.t) % INTERVAL_MS).toBe(0);
    expect(Date.parse(points.at(-1)!.t)).toBeGreaterThan(Date.parse(before.at(-1)!.t));

    // Nothing moves: the recorder keeps valuing the portfolio, and writes nothing.
    await intervals(3);
    expect(await stored(id)).toEqual(points);
  });

  it('GET history?range=1d carries the points of the last 24 hours (and no other range does); older points are not in it', async () => {
    const { id, sym } = await holding('3', '10');
    await recorded(id, '30');
    await commitPrices(t, [[sym, '10.5']]);
    const points = await recorded(id, '31.5');
    // A point older than a day (kept: the retention is 7 days) is not part of the 1d range.
    const old = new Date(Math.floor((Date.now() - 2 * 86_400_000) / 60_000) * 60_000).toISOString();
    await sql(t.databaseUrl, `INSERT INTO portfolio_value_points (portfolio_id, minute, value) VALUES ($1, $2, 29)`, [id, old]);

    const day = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=1d`);
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ portfolio_id: id, range: '1d' });
    expect(day.body.intraday).toEqual(points);
    expect(day.body.intraday.map((p: StoredPoint) => p.value).slice(-2)).toEqual(['30', '31.5']);

    for (const range of ['1w', '1m', 'all']) {
      const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=${range}`);
      expect(r.status).toBe(200);
      expect(r.body).not.toHaveProperty('intraday');
    }
    // Owner only, as every history request.
    expect((await api(t, other.cookie, 'GET', `/api/portfolios/${id}/history?range=1d`)).status).toBe(404);
  });

  describe.each(['websocket', 'socketio'] as const)('subscribe_portfolio with series over %s', (kind) => {
    it('gets subscribed, the snapshot, one portfolio_series (the stored points), then a portfolio_point per recorded point', async () => {
      const { id, sym } = await holding('4', '25');
      await recorded(id, '100');
      const p = await connect(kind);
      const plain = await connect(kind);
      plain.send('subscribe_portfolio', { portfolio_id: id }, 'plain');
      await plain.next('subscribed', (m) => m.id === 'plain');

      p.send('subscribe_portfolio', { portfolio_id: id, series: '1d' }, 'with-series');
      const subscribed = await p.next('subscribed', (m) => m.id === 'with-series');
      expect(subscribed.data.portfolios).toEqual([id]);
      const series = await p.next('portfolio_series');
      expect(await p.next('portfolio_update')).toMatchObject({ data: { portfolio_id: id, total_value: 100 } });
      const types = p.inbox.received.map((m) => m.type);
      expect(types.indexOf('subscribed')).toBeLessThan(types.indexOf('portfolio_series'));
      expect(types.filter((x) => x === 'portfolio_series')).toHaveLength(1);
      expect(series.data).toEqual({ portfolio_id: id, range: '1d', points: await stored(id) });
      expect(series.data.points.at(-1).value).toBe('100');

      await commitPrices(t, [[sym, '26.125']]);
      const point = await p.next('portfolio_point');
      expect(point.data).toEqual({ portfolio_id: id, t: expect.any(String), value: '104.5' });
      expect(Date.parse(point.data.t)).toBeGreaterThan(Date.parse(series.data.points.at(-1).t));
      expect((await stored(id)).at(-1)).toEqual({ t: point.data.t, value: '104.5' });
      // The connection that did not ask for the series gets no series and no point.
      await roundTrip(plain, 'after-point');
      expect(plain.inbox.received.filter((m) => m.type === 'portfolio_series' || m.type === 'portfolio_point')).toEqual([]);

      // Subscribing again without `series` stops the points (the latest subscribe decides).
      p.send('subscribe_portfolio', { portfolio_id: id }, 'no-series');
      await p.next('subscribed', (m) => m.id === 'no-series');
      await commitPrices(t, [[sym, '27']]);
      await recorded(id, '108');
      await roundTrip(p, 'after-stop');
      expect(p.inbox.received.filter((m) => m.type === 'portfolio_point')).toHaveLength(1);
      expect(p.inbox.received.filter((m) => m.type === 'portfolio_series')).toHaveLength(1);
    });

    it("someone else's portfolio: the existing NOT_FOUND, and neither the series nor its points", async () => {
      const { id, sym } = await holding('1', '50');
      await recorded(id, '50');
      const p = await connect(kind, other.cookie);
      p.send('subscribe_portfolio', { portfolio_id: id, series: '1d' }, 'theirs');
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'NOT_FOUND', request_type: 'subscribe_portfolio', id: 'theirs', message: `Portfolio ${id} not found` });
      await commitPrices(t, [[sym, '51']]);
      await recorded(id, '51');
      await roundTrip(p, 'after');
      expect(p.inbox.received.map((m) => m.type).filter((x) => x.startsWith('portfolio_'))).toEqual([]);
    });

    it('an invalid series gets VALIDATION_FAILED naming the field, nothing is subscribed, and the connection keeps serving', async () => {
      const { id } = await holding('1', '20');
      await recorded(id, '20');
      const p = await connect(kind);
      for (const series of ['1w', '1D', '', 1, true, ['1d'], { range: '1d' }]) {
        p.send('subscribe_portfolio', { portfolio_id: id, series }, 'bad');
        const e = await p.next('error', (m) => m.data.id === 'bad');
        expect(e.data, JSON.stringify(series)).toMatchObject({
          code: 'VALIDATION_FAILED',
          request_type: 'subscribe_portfolio',
          details: ['data.series: series must be one of: 1d'],
        });
      }
      p.send('list_subscriptions', {}, 'list');
      expect((await p.next('subscriptions', (m) => m.id === 'list')).data.subscriptions.portfolios).toEqual([]);
      p.send('subscribe_portfolio', { portfolio_id: id, series: '1d' }, 'good');
      await p.next('subscribed', (m) => m.id === 'good');
      const series = await p.next('portfolio_series');
      expect(series.data).toMatchObject({ portfolio_id: id, range: '1d' });
      expect(series.data.points.at(-1).value).toBe('20');
    });
  });

  it('one point per portfolio and interval whoever writes it (ON CONFLICT DO NOTHING); a deleted portfolio is skipped', async () => {
    const { id } = await holding('1', '7');
    await recorded(id, '7');
    const series = t.app.get(IntradaySeriesService);
    const at = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000);
    // Two instances recording the same interval: the first point stays, the second write inserts nothing.
    expect(await series.record(at, [{ portfolioId: id, ownerId: owner.userId, value: '7.5' }])).toBe(1);
    expect(await series.record(at, [{ portfolioId: id, ownerId: owner.userId, value: '7.25' }])).toBe(0);
    expect((await stored(id)).filter((p) => p.t === at.toISOString())).toEqual([{ t: at.toISOString(), value: '7.5' }]);
    // A portfolio deleted since it was valued does not fail the write of the others.
    const gone = await createPortfolio(t, owner.cookie, 'Intraday gone');
    expect((await api(t, owner.cookie, 'DELETE', `/api/portfolios/${gone}`)).status).toBe(204);
    const later = new Date(at.getTime() + 60_000);
    expect(
      await series.record(later, [
        { portfolioId: id, ownerId: owner.userId, value: '8' },
        { portfolioId: gone, ownerId: owner.userId, value: '1' },
      ]),
    ).toBe(1);
    expect(await stored(gone)).toEqual([]);
  });

  it('a failed write is logged and retried at the next interval with the values then; the realtime path keeps going meanwhile', async () => {
    const { id, sym } = await holding('2', '10');
    await recorded(id, '20');
    const p = await connect('websocket');
    p.send('subscribe_portfolio', { portfolio_id: id }, 'sub');
    await p.next('subscribed');
    await p.next('portfolio_update');
    const failures = recorder().stats.failures;
    await sql(t.databaseUrl, `ALTER TABLE portfolio_value_points RENAME TO portfolio_value_points_away`);
    try {
      await commitPrices(t, [[sym, '11']]);
      // Live updates are not held up by the failing writes.
      expect((await p.next('portfolio_update', (m) => m.data.total_value === 22)).data.portfolio_id).toBe(id);
      await poll('two failed writes', () => recorder().stats.failures >= failures + 2);
      await commitPrices(t, [[sym, '12']]);
      expect((await p.next('portfolio_update', (m) => m.data.total_value === 24)).data.portfolio_id).toBe(id);
    } finally {
      await sql(t.databaseUrl, `ALTER TABLE portfolio_value_points_away RENAME TO portfolio_value_points`);
    }
    // Retried with the value at that interval (22 was never stored: it was only the value while writes failed).
    const points = await recorded(id, '24');
    expect(points.map((x) => x.value).slice(-2)).toEqual(['20', '24']);
  });

  it('prunes the points older than PORTFOLIO_INTRADAY_DAYS (7), keeps the newer ones', async () => {
    const { id } = await holding('1', '5');
    await recorded(id, '5');
    const minuteAgo = (days: number) => new Date(Math.floor((Date.now() - days * 86_400_000) / 60_000) * 60_000).toISOString();
    const tooOld = minuteAgo(8);
    const kept = minuteAgo(6);
    await sql(t.databaseUrl, `INSERT INTO portfolio_value_points (portfolio_id, minute, value) VALUES ($1, $2, 4), ($1, $3, 4.5)`, [id, tooOld, kept]);
    expect((await stored(id)).map((p) => p.t)).toEqual(expect.arrayContaining([tooOld, kept]));

    expect(await recorder().prune()).toBeGreaterThanOrEqual(1);
    const after = await stored(id);
    expect(after.map((p) => p.t)).not.toContain(tooOld);
    expect(after[0]).toEqual({ t: kept, value: '4.5' });
    expect(after.at(-1)?.value).toBe('5');
  });
});

describe('migration 1764600000000: portfolio_value_points, and back', () => {
  let url: string;
  let ds: DataSource;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ ds, url, close } = await createMigratedDataSource());
  });
  afterAll(async () => {
    await close?.();
  });

  const tableExists = async () => (await sql<{ r: string | null }>(url, `SELECT to_regclass('public.portfolio_value_points')::text AS r`))[0].r !== null;
  const portfolios = () => sql(url, `SELECT id, owner_id, name FROM portfolios ORDER BY id`);

  it('up: the table (key, cascade, money precision, BRIN index on minute); down: it goes, the portfolios stay; up again recreates it empty', async () => {
    expect(await tableExists()).toBe(true);
    const columns = await sql<{ column_name: string; data_type: string; numeric_precision: number | null; numeric_scale: number | null; is_nullable: string }>(
      url,
      `SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable FROM information_schema.columns
        WHERE table_name = 'portfolio_value_points' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'portfolio_id', data_type: 'integer', numeric_precision: 32, numeric_scale: 0, is_nullable: 'NO' },
      { column_name: 'minute', data_type: 'timestamp with time zone', numeric_precision: null, numeric_scale: null, is_nullable: 'NO' },
      { column_name: 'value', data_type: 'numeric', numeric_precision: 24, numeric_scale: 8, is_nullable: 'NO' },
    ]);
    const indexes = await sql<{ indexdef: string }>(url, `SELECT indexdef FROM pg_indexes WHERE tablename = 'portfolio_value_points' ORDER BY indexname`);
    expect(indexes.map((i) => i.indexdef.replace(/ public\./g, ' '))).toEqual([
      'CREATE INDEX idx_portfolio_value_points_minute ON portfolio_value_points USING brin (minute)',
      'CREATE UNIQUE INDEX portfolio_value_points_pkey ON portfolio_value_points USING btree (portfolio_id, minute)',
    ]);

    await sql(url, `INSERT INTO users (username, password_hash) VALUES ('mig-intraday', 'x')`);
    await sql(url, `INSERT INTO portfolios (owner_id, name) SELECT id, p FROM users, unnest(ARRAY['Kept', 'Dropped']) AS p WHERE username = 'mig-intraday'`);
    const [kept, dropped] = (await portfolios()).map((p) => p.id as number);
    await sql(url, `INSERT INTO portfolio_value_points VALUES ($1, '2026-01-15T10:30:00Z', 1.123456789), ($2, '2026-01-15T10:30:00Z', 2)`, [kept, dropped]);
    // Rounded into the money precision; one point per portfolio and minute; gone with its portfolio.
    expect(await sql(url, `SELECT value::text FROM portfolio_value_points WHERE portfolio_id = $1`, [kept])).toEqual([{ value: '1.12345679' }]);
    await expect(sql(url, `INSERT INTO portfolio_value_points VALUES ($1, '2026-01-15T10:30:00Z', 3)`, [kept])).rejects.toThrow(/duplicate key/);
    await expect(sql(url, `INSERT INTO portfolio_value_points VALUES (987654, '2026-01-15T10:30:00Z', 3)`)).rejects.toThrow(/foreign key/);
    await sql(url, `DELETE FROM portfolios WHERE id = $1`, [dropped]);
    expect(await sql(url, `SELECT portfolio_id FROM portfolio_value_points`)).toEqual([{ portfolio_id: kept }]);
    const before = await portfolios();

    await undoMigrationsThrough(ds, 'PortfolioIntraday1764600000000'); // and any later migration first
    expect(await tableExists()).toBe(false);
    expect(await portfolios()).toEqual(before);

    await ds.runMigrations();
    expect(await tableExists()).toBe(true);
    expect(await sql(url, `SELECT * FROM portfolio_value_points`)).toEqual([]);
    expect(await portfolios()).toEqual(before);
  });
});
