import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';

type Agent = ReturnType<typeof request.agent>;

async function loggedIn(t: TestApp, username: string): Promise<Agent> {
  await request(t.url).post('/auth/register').send({ username, password: 'password-123' }).expect(201);
  const agent = request.agent(t.url);
  await agent.post('/auth/login').send({ username, password: 'password-123' }).expect(200);
  return agent;
}

/** Everything a user's portfolios hold, to prove a rejected request changed nothing. */
async function snapshot(t: TestApp): Promise<unknown[]> {
  return sql(
    t.databaseUrl,
    `SELECT p.id, p.name, p.description, p.base_currency, pos.id AS pos_id, pos.quantity, pos.average_cost, pos.asset_id
       FROM portfolios p LEFT JOIN positions pos ON pos.portfolio_id = p.id ORDER BY p.id, pos.id`,
  );
}

describe('portfolios API', () => {
  let t: TestApp;
  let alice: Agent;
  let bob: Agent;
  const changed: BusMessages['portfolio.changed'][] = [];

  beforeAll(async () => {
    t = await startTestApp();
    t.app.get(MessageBus).subscribe('portfolio.changed', (m) => changed.push(m));
    alice = await loggedIn(t, 'alice');
    bob = await loggedIn(t, 'bob');
    // Fixed prices so the valuation is hand-computable.
    await sql(
      t.databaseUrl,
      `UPDATE assets SET current_price = v.p, previous_close = v.pc, last_updated = now()
         FROM (VALUES ('AAPL', 0.3, 0.1), ('MSFT', 420.5, 400), ('BTC-USD', 63250.12345678, 62000)) AS v(s, p, pc)
        WHERE assets.symbol = v.s`,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const waitForChange = async (pred: (m: BusMessages['portfolio.changed']) => boolean) => {
    for (let i = 0; i < 100 && !changed.some(pred); i++) await new Promise((r) => setTimeout(r, 10));
    return changed.some(pred);
  };

  it('requires a login', async () => {
    const res = await request(t.url).get('/api/portfolios');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'UNAUTHORIZED', message: 'Authentication required' });
    expect((await request(t.url).post('/api/portfolios').send({ name: 'x' })).status).toBe(401);
  });

  let pid: number;
  let aaplPos: number;

  it('creates, lists, renames and reads a portfolio (CRUD)', async () => {
    const created = await alice.post('/api/portfolios').send({ name: '  Growth  ', description: 'long term', base_currency: 'usd' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Growth',
      description: 'long term',
      base_currency: 'USD',
      positions_count: 0,
      total_value: '0',
      daily_change: '0',
      daily_change_percent: '0',
      positions: [],
    });
    pid = created.body.id;
    expect(await waitForChange((m) => m.portfolio_id === pid)).toBe(true);

    const dup = await alice.post('/api/portfolios').send({ name: 'Growth' });
    expect(dup.status).toBe(409);
    // Names are unique per owner only.
    expect((await bob.post('/api/portfolios').send({ name: 'Growth' })).status).toBe(201);

    const list = await alice.get('/api/portfolios');
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);
    expect(list.body.items.map((p: { id: number }) => p.id)).toEqual([pid]);
    expect(list.body.items[0].positions).toBeUndefined();

    const renamed = await alice.patch(`/api/portfolios/${pid}`).send({ name: 'Growth 2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: pid, name: 'Growth 2', description: 'long term' });
    const got = await alice.get(`/api/portfolios/${pid}`);
    expect(got.body.name).toBe('Growth 2');
  });

  it('adds positions from JSON numbers and decimal strings and values them exactly', async () => {
    changed.length = 0;
    const a = await alice.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'aapl', quantity: '3', average_cost: 0.1 });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      symbol: 'AAPL',
      quantity: '3',
      average_cost: '0.1',
      current_price: '0.3',
      market_value: '0.9',
      cost_basis: '0.3',
      unrealized_gain: '0.6',
      daily_change: '0.6',
    });
    aaplPos = a.body.id;
    expect(await waitForChange((m) => m.portfolio_id === pid)).toBe(true);

    const m = await alice.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'MSFT', quantity: 0.1, average_cost: '0.2' });
    expect(m.status).toBe(201);
    expect(m.body).toMatchObject({ quantity: '0.1', market_value: '42.05' });
    const b = await alice.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'BTC-USD', quantity: '0.00000001', average_cost: '60000.5' });
    expect(b.status).toBe(201);
    expect(b.body.market_value).toBe('0.0006325012345678');

    const p = await alice.get(`/api/portfolios/${pid}`);
    expect(p.status).toBe(200);
    // total = 3*0.3 + 0.1*420.5 + 0.00000001*63250.12345678
    expect(p.body.total_value).toBe('42.9506325012345678');
    // previous = 3*0.1 + 0.1*400 + 0.00000001*62000 = 0.3 + 40 + 0.00062 = 40.30062
    // change = 42.9506325012345678 - 40.30062 = 2.6500125012345678
    expect(p.body.daily_change).toBe('2.6500125012345678');
    // 2.6500125012345678 / 40.30062 * 100 = 6.5756...
    expect(p.body.daily_change_percent).toBe('6.5756');
    // cost = 0.3 + 0.02 + 0.000600005 = 0.320600005
    expect(p.body.cost_basis).toBe('0.320600005');
    expect(p.body.unrealized_gain).toBe('42.6300324962345678');
    expect(p.body.positions_count).toBe(3);
    expect(p.body.positions.map((x: { symbol: string }) => x.symbol)).toEqual(['AAPL', 'MSFT', 'BTC-USD']);
    expect(p.body.stale).toBe(false);

    const listed = await alice.get(`/api/portfolios/${pid}/positions`);
    expect(listed.body.total).toBe(3);
    expect(listed.body.items).toEqual(p.body.positions);
  });

  it('changes and deletes positions, publishing portfolio.changed each time', async () => {
    changed.length = 0;
    const upd = await alice.patch(`/api/portfolios/${pid}/positions/${aaplPos}`).send({ quantity: '10.5' });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ id: aaplPos, quantity: '10.5', average_cost: '0.1', market_value: '3.15' });
    expect(await waitForChange((m) => m.portfolio_id === pid && !m.deleted)).toBe(true);

    const dupe = await alice.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'AAPL', quantity: 1, average_cost: 1 });
    expect(dupe.status).toBe(409);
    expect(dupe.body.message).toContain(`position ${aaplPos}`);

    changed.length = 0;
    expect((await alice.delete(`/api/portfolios/${pid}/positions/${aaplPos}`)).status).toBe(204);
    expect(await waitForChange((m) => m.portfolio_id === pid)).toBe(true);
    expect((await alice.delete(`/api/portfolios/${pid}/positions/${aaplPos}`)).status).toBe(404);
    const p = await alice.get(`/api/portfolios/${pid}`);
    expect(p.body.positions_count).toBe(2);
  });

  describe('another user', () => {
    it('cannot read, change or delete the portfolio, nor touch its positions: 404 like a missing one', async () => {
      const before = await snapshot(t);
      const [pos] = (await alice.get(`/api/portfolios/${pid}`)).body.positions;
      const missing = 999999;
      const tries: [string, () => request.Test][] = [
        ['GET', () => bob.get(`/api/portfolios/${pid}`)],
        ['PATCH', () => bob.patch(`/api/portfolios/${pid}`).send({ name: 'mine now' })],
        ['DELETE', () => bob.delete(`/api/portfolios/${pid}`)],
        ['GET positions', () => bob.get(`/api/portfolios/${pid}/positions`)],
        ['POST position', () => bob.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'MSFT', quantity: 1, average_cost: 1 })],
        ['PATCH position', () => bob.patch(`/api/portfolios/${pid}/positions/${pos.id}`).send({ quantity: 1 })],
        ['DELETE position', () => bob.delete(`/api/portfolios/${pid}/positions/${pos.id}`)],
      ];
      for (const [label, run] of tries) {
        const res = await run();
        expect(res.status, label).toBe(404);
        expect(res.body, label).toEqual({ statusCode: 404, error: 'NOT_FOUND', message: `Portfolio ${pid} not found` });
      }
      const nonexistent = await bob.get(`/api/portfolios/${missing}`);
      expect(nonexistent.body).toEqual({ statusCode: 404, error: 'NOT_FOUND', message: `Portfolio ${missing} not found` });
      expect((await bob.get('/api/portfolios/abc')).status).toBe(404);
      expect(await snapshot(t)).toEqual(before);
      // Bob's list shows only his own portfolio.
      const list = await bob.get('/api/portfolios');
      expect(list.body.items.map((p: { id: number }) => p.id)).not.toContain(pid);
    });

    it('cannot reach a position of A through his own portfolio id', async () => {
      const bobs = (await bob.get('/api/portfolios')).body.items[0].id;
      const [pos] = (await alice.get(`/api/portfolios/${pid}`)).body.positions;
      const before = await snapshot(t);
      expect((await bob.patch(`/api/portfolios/${bobs}/positions/${pos.id}`).send({ quantity: 5 })).status).toBe(404);
      expect((await bob.delete(`/api/portfolios/${bobs}/positions/${pos.id}`)).status).toBe(404);
      expect(await snapshot(t)).toEqual(before);
    });
  });

  describe('invalid bodies', () => {
    it.each([
      ['negative quantity', { symbol: 'MSFT', quantity: -1, average_cost: 1 }, /quantity must be a decimal number .* greater than 0/],
      ['zero quantity', { symbol: 'MSFT', quantity: '0', average_cost: 1 }, /quantity must be a decimal number/],
      ['negative cost', { symbol: 'MSFT', quantity: 1, average_cost: '-0.01' }, /average_cost must be a decimal number/],
      ['unknown symbol', { symbol: 'ZZZZ', quantity: 1, average_cost: 1 }, /Unknown symbol ZZZZ/],
      ['malformed symbol', { symbol: 'AA PL', quantity: 1, average_cost: 1 }, /symbol must be/],
      ['extra field', { symbol: 'MSFT', quantity: 1, average_cost: 1, owner_id: 1 }, /property owner_id should not exist/],
      ['quantity as boolean', { symbol: 'MSFT', quantity: true, average_cost: 1 }, /quantity must be a decimal number/],
      ['quantity as object', { symbol: 'MSFT', quantity: { $gt: 0 }, average_cost: 1 }, /quantity must be a decimal number/],
      ['quantity with exponent string', { symbol: 'MSFT', quantity: '1e3', average_cost: 1 }, /quantity must be a decimal number/],
      ['too many decimals', { symbol: 'MSFT', quantity: '0.123456789', average_cost: 1 }, /at most 8 decimal places/],
      ['huge quantity', { symbol: 'MSFT', quantity: '10000000000000', average_cost: 1 }, /at most 1000000000000/],
      ['huge string', { symbol: 'MSFT', quantity: '1'.repeat(5000), average_cost: 1 }, /quantity must be a decimal number/],
      ['NaN-like string', { symbol: 'MSFT', quantity: 'NaN', average_cost: 1 }, /quantity must be a decimal number/],
      ['symbol as number', { symbol: 42, quantity: 1, average_cost: 1 }, /symbol must be a string/],
      ['missing fields', {}, /symbol.*quantity.*average_cost/s],
    ])('POST position with %s → 400 and nothing changes', async (_label, body, message) => {
      const before = await snapshot(t);
      const res = await alice.post(`/api/portfolios/${pid}/positions`).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
      expect(res.body.message).toMatch(message);
      expect(await snapshot(t)).toEqual(before);
    });

    it.each([
      ['empty name', { name: '   ' }, /name must not be empty/],
      ['long name', { name: 'x'.repeat(101) }, /name must be shorter/],
      ['name as number', { name: 5 }, /name must be a string/],
      ['bad currency', { name: 'Ok', base_currency: 'dollars' }, /base_currency must be a 3-letter/],
      ['extra field', { name: 'Ok', owner_id: 2 }, /property owner_id should not exist/],
      ['huge description', { name: 'Ok', description: 'd'.repeat(5000) }, /description must be shorter/],
    ])('POST portfolio with %s → 400 and nothing changes', async (_label, body, message) => {
      const before = await snapshot(t);
      const res = await alice.post('/api/portfolios').send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      expect(await snapshot(t)).toEqual(before);
    });

    it('rejects an empty or invalid PATCH and a body over 100 kB', async () => {
      const before = await snapshot(t);
      const [pos] = (await alice.get(`/api/portfolios/${pid}`)).body.positions;
      expect((await alice.patch(`/api/portfolios/${pid}`).send({})).status).toBe(400);
      expect((await alice.patch(`/api/portfolios/${pid}/positions/${pos.id}`).send({})).status).toBe(400);
      const neg = await alice.patch(`/api/portfolios/${pid}/positions/${pos.id}`).send({ quantity: '-5' });
      expect(neg.status).toBe(400);
      expect(neg.body.message).toMatch(/quantity/);
      const big = await alice.post(`/api/portfolios/${pid}/positions`).send({ symbol: 'MSFT', quantity: 1, average_cost: 1, pad: 'x'.repeat(200_000) });
      expect(big.status).toBe(413);
      expect(await snapshot(t)).toEqual(before);
    });
  });

  it('deletes a portfolio with its positions and publishes deleted: true', async () => {
    changed.length = 0;
    expect((await alice.delete(`/api/portfolios/${pid}`)).status).toBe(204);
    expect(await waitForChange((m) => m.portfolio_id === pid && m.deleted === true)).toBe(true);
    expect((await alice.get(`/api/portfolios/${pid}`)).status).toBe(404);
    const rows = await sql(t.databaseUrl, `SELECT 1 FROM positions WHERE portfolio_id = $1`, [pid]);
    expect(rows).toHaveLength(0);
    expect((await alice.delete(`/api/portfolios/${pid}`)).status).toBe(404);
  });

  it('shows the demo portfolio to the demo user', async () => {
    const demo = request.agent(t.url);
    await demo.post('/auth/login').send({ username: 'demo', password: 'demo-password' }).expect(200);
    const list = await demo.get('/api/portfolios');
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ name: 'Demo Portfolio', positions_count: 7 });
    expect(Number(list.body.items[0].total_value)).toBeGreaterThan(0);
  });
});
