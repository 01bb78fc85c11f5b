import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { buildDataSourceOptions } from '../../src/database/data-source.options';
import { replayLedger } from '../../src/portfolios/ledger/ledger';
import type { TransactionType } from '../../src/portfolios/ledger/ledger.types';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { createTestDatabase, sql } from '../support/database';
import { checkSchema } from '../support/json-schema-lite';
import { undoMigrationsThrough } from '../support/migrations';
import { poll } from '../support/poll';
import { addAssets, addPosition, api, createPortfolio, loginAs } from '../support/realtime-fixtures';
import { openProbe, Probe } from '../support/realtime-probes';

/**
 * Issue 15, part 1: the transaction ledger of a portfolio, against the real app and PostgreSQL.
 * Positions are derived from the transactions (replayed after every change, in the same database
 * transaction); the legacy position endpoints write transactions too; CSV export and import; the
 * migration that turns existing positions into opening BUYs.
 */

const TODAY = new Date().toISOString().slice(0, 10);
const TOMORROW = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

interface Tx {
  type: TransactionType | string;
  symbol?: string | null;
  quantity?: string | number | null;
  price?: string | number | null;
  fee?: string | number | null;
  currency?: string;
  date?: string;
  note?: string | null;
}

const txPath = (pid: number, rest = '') => `/api/portfolios/${pid}/transactions${rest}`;

/** Everything stored for a portfolio: its transactions and its positions (to prove a refused change wrote nothing). */
async function stored(t: TestApp, pid: number): Promise<{ transactions: unknown[]; positions: unknown[] }> {
  return {
    transactions: await sql(
      t.databaseUrl,
      `SELECT id, type, asset_id, quantity::text, price::text, fee::text, currency, date::text, note FROM transactions WHERE portfolio_id = $1 ORDER BY id`,
      [pid],
    ),
    positions: await sql(
      t.databaseUrl,
      `SELECT id, asset_id, quantity::text, average_cost::text, updated_at FROM positions WHERE portfolio_id = $1 ORDER BY id`,
      [pid],
    ),
  };
}

/** The portfolio's positions as the REST API shows them: symbol → [quantity, average_cost]. */
async function positionsOf(t: TestApp, cookie: string, pid: number): Promise<Record<string, [string, string]>> {
  const r = await api<{ items: { symbol: string; quantity: string; average_cost: string }[] }>(t, cookie, 'GET', `/api/portfolios/${pid}/positions`);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.items.map((p) => [p.symbol, [p.quantity, p.average_cost]]));
}

async function postCsv(t: TestApp, cookie: string, pid: number, csv: string, dryRun?: boolean, contentType = 'text/csv') {
  const q = dryRun === undefined ? '' : `?dry_run=${dryRun}`;
  const res = await fetch(`${t.url}${txPath(pid, `/import${q}`)}`, {
    method: 'POST',
    headers: { cookie, origin: t.url, 'content-type': contentType },
    body: csv,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function exportCsv(t: TestApp, cookie: string, pid: number): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${t.url}/api/portfolios/${pid}/transactions.csv`, { headers: { cookie, origin: t.url } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('transactions API', () => {
  let t: TestApp;
  let alice: { cookie: string; userId: number };
  let bob: { cookie: string; userId: number };
  const changed: BusMessages['portfolio.changed'][] = [];
  let n = 0;

  const post = (pid: number, body: Tx | Record<string, unknown>, who = alice) => api(t, who.cookie, 'POST', txPath(pid), body);
  const buy = (pid: number, symbol: string, quantity: string, price: string, date: string, fee = '0') =>
    post(pid, { type: 'BUY', symbol, quantity, price, fee, date });
  const fresh = async (label: string) => createPortfolio(t, alice.cookie, `${label} ${++n}`);

  beforeAll(async () => {
    t = await startTestApp();
    t.app.get(MessageBus).subscribe('portfolio.changed', (m) => changed.push(m));
    alice = await loginAs(t, 'tx-alice');
    bob = await loginAs(t, 'tx-bob');
    // Test symbols priced 100 (previous close 100): valuations are hand-computable.
    await addAssets(t, ['TXA', 'TXB', 'TXC'], '100');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, lists, changes and deletes a transaction, decimals as strings in and out', async () => {
    const pid = await fresh('CRUD');
    changed.length = 0;
    const created = await post(pid, {
      type: 'buy',
      symbol: ' txa ',
      quantity: '0.12345678',
      price: '100.5',
      fee: '1.25',
      date: '2024-01-02',
      note: 'first lot',
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(Number),
      portfolio_id: pid,
      type: 'BUY',
      symbol: 'TXA',
      quantity: '0.12345678',
      price: '100.5',
      fee: '1.25',
      currency: 'USD',
      date: '2024-01-02',
      note: 'first lot',
      created_at: expect.any(String),
    });
    const id = created.body.id;
    await poll('portfolio.changed after the POST', () => changed.some((m) => m.portfolio_id === pid));

    expect((await api(t, alice.cookie, 'GET', txPath(pid, `/${id}`))).body).toEqual(created.body);
    const list = await api(t, alice.cookie, 'GET', txPath(pid));
    expect(list).toEqual({ status: 200, body: { items: [created.body], total: 1, limit: 1000, offset: 0 } });
    // (0.12345678 × 100.5 + 1.25) / 0.12345678 = 110.625000830...
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['0.12345678', '110.62500083'] });

    changed.length = 0;
    const patched = await api(t, alice.cookie, 'PATCH', txPath(pid, `/${id}`), { quantity: 10, price: '100', fee: null, note: null, currency: 'eur' });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created.body, quantity: '10', price: '100', fee: '0', note: null, currency: 'EUR' });
    await poll('portfolio.changed after the PATCH', () => changed.some((m) => m.portfolio_id === pid));
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['10', '100'] });
    const detail = await api(t, alice.cookie, 'GET', `/api/portfolios/${pid}`);
    expect(detail.body).toMatchObject({ positions_count: 1, total_value: '1000', cost_basis: '1000' });

    changed.length = 0;
    expect((await api(t, alice.cookie, 'DELETE', txPath(pid, `/${id}`))).status).toBe(204);
    await poll('portfolio.changed after the DELETE', () => changed.some((m) => m.portfolio_id === pid));
    expect((await api(t, alice.cookie, 'GET', txPath(pid, `/${id}`))).status).toBe(404);
    expect((await api(t, alice.cookie, 'DELETE', txPath(pid, `/${id}`))).status).toBe(404);
    expect((await api(t, alice.cookie, 'GET', txPath(pid))).body).toEqual({ items: [], total: 0, limit: 1000, offset: 0 });
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({});
  });

  it('accepts every type with its own fields (cash flows without a symbol, a fee with or without one)', async () => {
    const pid = await fresh('Types');
    const bodies: Tx[] = [
      { type: 'DEPOSIT', price: '1000', date: '2024-01-01', currency: 'USD' },
      { type: 'BUY', symbol: 'TXA', quantity: '5', price: '100', date: '2024-01-02' },
      { type: 'DIVIDEND', symbol: 'TXA', quantity: '5', price: '0.5', date: '2024-02-01' },
      { type: 'DIVIDEND', symbol: 'TXA', price: '3', date: '2024-02-02' },
      { type: 'FEE', price: '2.5', date: '2024-02-03' },
      { type: 'FEE', symbol: 'TXA', price: '1', date: '2024-02-04' },
      { type: 'SPLIT', symbol: 'TXA', quantity: '0.5', date: '2024-03-01' },
      { type: 'SELL', symbol: 'TXA', quantity: '1', price: '210', date: '2024-03-02' },
      { type: 'WITHDRAWAL', price: '100', date: '2024-03-03', fee: '1' },
    ];
    for (const b of bodies) {
      const r = await post(pid, b);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ type: b.type, symbol: b.symbol ?? null, quantity: b.quantity ?? null, price: b.price ?? null, fee: b.fee ?? '0' });
    }
    // 5 shares at 100, halved (0.5 per share) to 2.5 at 200, one sold: 1.5 left at 200.
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['1.5', '200'] });
    const list = (await api(t, alice.cookie, 'GET', txPath(pid))).body;
    expect(list.items.map((x: { type: string }) => x.type)).toEqual(bodies.map((b) => b.type));
  });

  it('derives positions: buy 10 @ 100 fee 1, buy 10 @ 110 → 20 @ 105.05; sell 5; split 2-for-1', async () => {
    const pid = await fresh('Derived');
    expect((await buy(pid, 'TXA', '10', '100', '2024-01-02', '1')).status).toBe(201);
    expect((await buy(pid, 'TXA', '10', '110', '2024-01-03')).status).toBe(201);
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['20', '105.05'] });
    const [row] = await sql<{ id: number }>(t.databaseUrl, `SELECT id FROM positions WHERE portfolio_id = $1`, [pid]);

    expect((await post(pid, { type: 'SELL', symbol: 'TXA', quantity: '5', price: '120', date: '2024-01-04' })).status).toBe(201);
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['15', '105.05'] });
    expect((await post(pid, { type: 'SPLIT', symbol: 'TXA', quantity: '2', date: '2024-01-05' })).status).toBe(201);
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['30', '52.525'] });
    const detail = await api(t, alice.cookie, 'GET', `/api/portfolios/${pid}`);
    expect(detail.body).toMatchObject({ positions_count: 1, total_value: '3000', cost_basis: '1575.75' });
    // The position row is rewritten in place (same id) while the symbol is held.
    expect(detail.body.positions[0].id).toBe(row.id);

    // A second symbol appears and disappears with its transactions.
    const b = await buy(pid, 'TXB', '2', '50', '2024-01-06');
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['30', '52.525'], TXB: ['2', '50'] });
    expect((await post(pid, { type: 'SELL', symbol: 'TXB', quantity: '2', price: '60', date: '2024-01-07' })).status).toBe(201);
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['30', '52.525'] });
    // Back-dating a sale before the split sells pre-split shares.
    const sell = await post(pid, { type: 'SELL', symbol: 'TXA', quantity: '10', price: '100', date: '2024-01-04' });
    expect(sell.status).toBe(201);
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['10', '52.525'] });
    expect((await api(t, alice.cookie, 'DELETE', txPath(pid, `/${sell.body.id}`))).status).toBe(204);
    expect((await api(t, alice.cookie, 'DELETE', txPath(pid, `/${b.body.id}`))).status).toBe(400); // the TXB sale needs that buy
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['30', '52.525'] });
  });

  describe('refusals: 400, a clear message, nothing written', () => {
    let pid: number;
    let buyId: number;
    beforeAll(async () => {
      pid = await fresh('Refusals');
      const r = await buy(pid, 'TXA', '10', '100', '2024-01-02');
      buyId = r.body.id;
      expect((await post(pid, { type: 'DEPOSIT', price: '50', date: '2024-01-01' })).status).toBe(201);
    });

    it.each<[string, Tx | Record<string, unknown>, RegExp, string?]>([
      [
        'a sale beyond the holding',
        { type: 'SELL', symbol: 'TXA', quantity: '10.5', price: '1', date: '2024-01-03' },
        /cannot sell 10\.5 TXA on 2024-01-03: 10 held/,
        'SELL_EXCEEDS_HOLDING',
      ],
      [
        'a sale before the purchase',
        { type: 'SELL', symbol: 'TXA', quantity: '1', price: '1', date: '2024-01-01' },
        /cannot sell 1 TXA on 2024-01-01: 0 held/,
        'SELL_EXCEEDS_HOLDING',
      ],
      [
        'a withdrawal beyond the cash',
        { type: 'WITHDRAWAL', price: '60', date: '2024-01-01' },
        /cannot withdraw 60 on 2024-01-01.*50 cash/,
        'WITHDRAWAL_EXCEEDS_CASH',
      ],
      [
        'a split of nothing',
        { type: 'SPLIT', symbol: 'TXB', quantity: '2', date: '2024-01-03' },
        /cannot split TXB on 2024-01-03: none held/,
        'NOTHING_TO_SPLIT',
      ],
      ['a future date', { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: TOMORROW }, new RegExp(`date ${TOMORROW} is in the future`)],
      ['an impossible date', { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: '2024-02-30' }, /date 2024-02-30 is not a calendar date/],
      ['a malformed date', { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: '2/1/2024' }, /date must be a calendar date YYYY-MM-DD/],
      ['a split ratio of 0', { type: 'SPLIT', symbol: 'TXA', quantity: '0', date: '2024-01-03' }, /quantity must be a decimal number .* greater than 0/],
      ['an unknown symbol', { type: 'BUY', symbol: 'NOPE1', quantity: '1', price: '1', date: '2024-01-03' }, /Unknown symbol NOPE1/],
      ['a BUY without a price', { type: 'BUY', symbol: 'TXA', quantity: '1', date: '2024-01-03' }, /price is required for a BUY \(price per share\)/],
      ['a BUY without a symbol', { type: 'BUY', quantity: '1', price: '1', date: '2024-01-03' }, /symbol is required for a BUY/],
      ['a DEPOSIT with a symbol', { type: 'DEPOSIT', symbol: 'TXA', price: '1', date: '2024-01-03' }, /symbol must be empty for a DEPOSIT/],
      ['a SPLIT with a price', { type: 'SPLIT', symbol: 'TXA', quantity: '2', price: '1', date: '2024-01-03' }, /price must be empty for a SPLIT/],
      [
        'a negative fee',
        { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', fee: '-1', date: '2024-01-03' },
        /fee must be a decimal number .* at least 0/,
      ],
      [
        'an unknown field',
        { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: '2024-01-03', portfolio_id: 1 },
        /property portfolio_id should not exist/,
      ],
      [
        'an unknown type',
        { type: 'TRADE', symbol: 'TXA', quantity: '1', price: '1', date: '2024-01-03' },
        /type must be one of BUY, SELL, DIVIDEND, FEE, SPLIT, DEPOSIT, WITHDRAWAL/,
      ],
      [
        'a float price with too many decimals',
        { type: 'BUY', symbol: 'TXA', quantity: '1', price: '0.123456789', date: '2024-01-03' },
        /at most 8 decimal places/,
      ],
      [
        'a note over 500 characters',
        { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: '2024-01-03', note: 'n'.repeat(501) },
        /note must be shorter/,
      ],
      ['no date', { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1' }, /date/],
    ])('POST with %s', async (_label, body, message, code) => {
      const before = await stored(t, pid);
      const r = await post(pid, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
      expect(r.body.message).toMatch(message);
      if (code) {
        expect(r.body.message.startsWith(`${code}: `)).toBe(true);
        expect(r.body.details).toEqual({ code, message: r.body.message });
        expect(r.body.message).toMatch(/\(this transaction\)$/);
      }
      expect(await stored(t, pid)).toEqual(before);
    });

    it('lists every field problem in details', async () => {
      const r = await post(pid, { type: 'BUY', symbol: 'TXA', quantity: '-1', price: 'x', fee: '-1', date: TOMORROW });
      expect(r.status).toBe(400);
      expect(r.body.details).toHaveLength(4);
      for (const f of ['quantity', 'price', 'fee', 'date'])
        expect(
          r.body.details.some((d: string) => d.startsWith(f)),
          f,
        ).toBe(true);
    });

    it('PATCH and DELETE that break the ledger name the stored transaction and write nothing', async () => {
      const sale = await post(pid, { type: 'SELL', symbol: 'TXA', quantity: '8', price: '100', date: '2024-01-05' });
      expect(sale.status).toBe(201);
      const before = await stored(t, pid);
      const shrink = await api(t, alice.cookie, 'PATCH', txPath(pid, `/${buyId}`), { quantity: '5' });
      expect(shrink.status).toBe(400);
      expect(shrink.body.details).toEqual({
        code: 'SELL_EXCEEDS_HOLDING',
        transaction_id: sale.body.id,
        message: `SELL_EXCEEDS_HOLDING: cannot sell 8 TXA on 2024-01-05: 5 held that day (transaction ${sale.body.id})`,
      });
      const del = await api(t, alice.cookie, 'DELETE', txPath(pid, `/${buyId}`));
      expect(del.status).toBe(400);
      expect(del.body.details).toMatchObject({ code: 'SELL_EXCEEDS_HOLDING', transaction_id: sale.body.id });
      // A type change must fit the new type.
      const retype = await api(t, alice.cookie, 'PATCH', txPath(pid, `/${buyId}`), { type: 'DEPOSIT' });
      expect(retype.status).toBe(400);
      expect(retype.body.details).toEqual(['symbol must be empty for a DEPOSIT', 'quantity must be empty for a DEPOSIT']);
      const empty = await api(t, alice.cookie, 'PATCH', txPath(pid, `/${buyId}`), {});
      expect(empty.status).toBe(400);
      const nullType = await api(t, alice.cookie, 'PATCH', txPath(pid, `/${buyId}`), { type: null, date: null });
      expect(nullType.status).toBe(400);
      expect(await stored(t, pid)).toEqual(before);
      expect((await api(t, alice.cookie, 'DELETE', txPath(pid, `/${sale.body.id}`))).status).toBe(204);
    });
  });

  it('someone else’s portfolio answers 404 on every route, like a missing one, and nothing changes', async () => {
    const pid = await fresh('Private');
    const tx = await buy(pid, 'TXA', '1', '100', '2024-01-02');
    const bobs = await createPortfolio(t, bob.cookie, 'Bob own');
    const before = await stored(t, pid);
    const notFound = { statusCode: 404, error: 'NOT_FOUND', message: `Portfolio ${pid} not found` };
    const body = { type: 'BUY', symbol: 'TXA', quantity: '1', price: '1', date: '2024-01-03' };
    for (const [method, path, b] of [
      ['GET', txPath(pid)],
      ['POST', txPath(pid), body],
      ['GET', txPath(pid, `/${tx.body.id}`)],
      ['PATCH', txPath(pid, `/${tx.body.id}`), { quantity: '2' }],
      ['DELETE', txPath(pid, `/${tx.body.id}`)],
      ['GET', `/api/portfolios/${pid}/transactions.csv`],
    ] as const) {
      const r = await api(t, bob.cookie, method, path, b);
      expect(r, `${method} ${path}`).toEqual({ status: 404, body: notFound });
    }
    const imp = await postCsv(t, bob.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n2024-01-03,BUY,TXA,1,1,0,USD\n');
    expect(imp).toEqual({ status: 404, body: notFound });
    // Alice's transaction through Bob's own portfolio: not found either.
    expect((await api(t, bob.cookie, 'GET', txPath(bobs, `/${tx.body.id}`))).status).toBe(404);
    expect((await api(t, bob.cookie, 'PATCH', txPath(bobs, `/${tx.body.id}`), { quantity: '2' })).status).toBe(404);
    expect((await api(t, bob.cookie, 'DELETE', txPath(bobs, `/${tx.body.id}`))).status).toBe(404);
    expect((await api(t, bob.cookie, 'GET', txPath(999_999))).status).toBe(404);
    expect((await api(t, alice.cookie, 'GET', txPath(pid, '/abc'))).status).toBe(404);
    expect((await fetch(`${t.url}${txPath(pid)}`)).status).toBe(401);
    expect(await stored(t, pid)).toEqual(before);
  });

  it('serialises concurrent changes of one portfolio: of five sales of 3 from 10 held, exactly three pass', async () => {
    const pid = await fresh('Concurrent');
    expect((await buy(pid, 'TXC', '10', '100', '2024-01-02')).status).toBe(201);
    const sales = await Promise.all(
      Array.from({ length: 5 }, () => post(pid, { type: 'SELL', symbol: 'TXC', quantity: '3', price: '100', date: '2024-01-03' })),
    );
    expect(sales.map((s) => s.status).sort()).toEqual([201, 201, 201, 400, 400]);
    for (const s of sales.filter((x) => x.status === 400)) expect(s.body.details.code).toBe('SELL_EXCEEDS_HOLDING');
    expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXC: ['1', '100'] });
  });

  describe('the position endpoints (legacy) write transactions', () => {
    it('POST = an opening BUY today at average_cost; PATCH = one BUY of the new figures on the first date; DELETE = none left', async () => {
      const pid = await fresh('Legacy');
      await addPosition(t, alice.cookie, pid, 'TXA', '5', '20');
      const txs = async () => (await api(t, alice.cookie, 'GET', txPath(pid))).body.items as Record<string, unknown>[];
      expect(await txs()).toEqual([
        expect.objectContaining({ type: 'BUY', symbol: 'TXA', quantity: '5', price: '20', fee: '0', currency: 'USD', date: TODAY, note: 'Opening position' }),
      ]);
      const [pos] = (await api(t, alice.cookie, 'GET', `/api/portfolios/${pid}/positions`)).body.items;

      // Older history of the symbol: the PATCH keeps its first date.
      expect((await buy(pid, 'TXA', '1', '10', '2024-05-01')).status).toBe(201);
      expect((await post(pid, { type: 'DIVIDEND', symbol: 'TXA', price: '1', date: '2024-06-01' })).status).toBe(201);
      expect((await buy(pid, 'TXB', '1', '10', '2024-05-01')).status).toBe(201);
      expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXA: ['6', '18.33333333'], TXB: ['1', '10'] });

      const patched = await api(t, alice.cookie, 'PATCH', `/api/portfolios/${pid}/positions/${pos.id}`, { quantity: '8' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: pos.id, symbol: 'TXA', quantity: '8', average_cost: '18.33333333' });
      const after = (await txs()).filter((x) => x.symbol === 'TXA');
      expect(after).toEqual([expect.objectContaining({ type: 'BUY', quantity: '8', price: '18.33333333', date: '2024-05-01', fee: '0' })]);
      const cost = await api(t, alice.cookie, 'PATCH', `/api/portfolios/${pid}/positions/${pos.id}`, { average_cost: '25.5' });
      expect(cost.body).toMatchObject({ id: pos.id, quantity: '8', average_cost: '25.5', cost_basis: '204' });
      expect((await txs()).filter((x) => x.symbol === 'TXA')).toEqual([expect.objectContaining({ quantity: '8', price: '25.5', date: '2024-05-01' })]);

      const zero = await api(t, alice.cookie, 'POST', `/api/portfolios/${pid}/positions`, { symbol: 'TXC', quantity: '1', average_cost: '0' });
      expect(zero.status).toBe(400);
      expect(zero.body.message).toMatch(/average_cost must be greater than 0/);

      expect((await api(t, alice.cookie, 'DELETE', `/api/portfolios/${pid}/positions/${pos.id}`)).status).toBe(204);
      expect((await txs()).map((x) => x.symbol)).toEqual(['TXB']);
      expect(await positionsOf(t, alice.cookie, pid)).toEqual({ TXB: ['1', '10'] });
    });

    it('the seeded demo portfolio comes with its ledger (opening BUYs 20 days back); a position written by SQL alone is adopted', async () => {
      const demoLogin = await fetch(`${t.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'demo-password' }),
      });
      const cookie = demoLogin.headers.getSetCookie()[0]!.split(';')[0]!;
      const [demo] = (await api(t, cookie, 'GET', '/api/portfolios')).body.items;
      const before = await positionsOf(t, cookie, demo.id);
      expect(Object.keys(before)).toHaveLength(7);
      const twentyDaysBack = new Date(Date.now() - 20 * 86_400_000).toISOString().slice(0, 10);
      const list = (await api(t, cookie, 'GET', txPath(demo.id))).body;
      expect(list.total).toBe(7);
      for (const x of list.items) {
        expect(x).toMatchObject({ type: 'BUY', fee: '0', date: twentyDaysBack, note: 'Opening position' });
        expect([x.quantity, x.price]).toEqual(before[x.symbol]);
      }
      // A position inserted by SQL, with no transaction: the next read gives it its opening BUY (dated at its creation).
      await sql(
        t.databaseUrl,
        `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) SELECT $1, id, 3, 42 FROM assets WHERE symbol = 'NFLX'`,
        [demo.id],
      );
      const adopted = (await api(t, cookie, 'GET', txPath(demo.id))).body;
      expect(adopted.total).toBe(8);
      expect(adopted.items.find((x: { symbol: string }) => x.symbol === 'NFLX')).toMatchObject({
        type: 'BUY',
        quantity: '3',
        price: '42',
        fee: '0',
        date: TODAY,
        note: 'Opening position',
      });
      // Reading again adopts nothing more; a change replays to the same positions.
      expect((await api(t, cookie, 'GET', txPath(demo.id))).body.total).toBe(8);
      const withNflx = { ...before, NFLX: ['3', '42'] };
      const dep = await api(t, cookie, 'POST', txPath(demo.id), { type: 'DEPOSIT', price: '10', date: TODAY });
      expect(dep.status).toBe(201);
      expect(await positionsOf(t, cookie, demo.id)).toEqual(withNflx);
      expect((await api(t, cookie, 'DELETE', txPath(demo.id, `/${dep.body.id}`))).status).toBe(204);
    });
  });

  describe('CSV', () => {
    const HEADER = 'date,type,symbol,quantity,price,fee,currency,note';

    it('exports with RFC 4180 quoting and imports the export back into another portfolio: the same ledger and positions', async () => {
      const src = await fresh('CSV source');
      const bodies: Tx[] = [
        { type: 'DEPOSIT', price: '10000', date: '2024-01-01', note: 'Initial, "seed" money' },
        { type: 'BUY', symbol: 'TXA', quantity: '10', price: '100', fee: '1', date: '2024-01-02', note: 'two\r\nlines' },
        { type: 'SELL', symbol: 'TXA', quantity: '4', price: '120.12345678', date: '2024-01-03' },
        { type: 'DIVIDEND', symbol: 'TXA', quantity: '6', price: '0.5', date: '2024-01-04', currency: 'EUR' },
        { type: 'FEE', price: '2.5', date: '2024-01-04', note: ' padded ' },
        { type: 'SPLIT', symbol: 'TXA', quantity: '2', date: '2024-01-05' },
        { type: 'WITHDRAWAL', price: '100', date: '2024-01-06' },
        { type: 'BUY', symbol: 'TXB', quantity: '0.00000001', price: '60000.5', date: '2024-01-06' },
      ];
      for (const b of bodies) expect((await post(src, b)).status).toBe(201);
      const out = await exportCsv(t, alice.cookie, src);
      expect(out.status).toBe(200);
      expect(out.type).toBe('text/csv; charset=utf-8');
      expect(out.text).toBe(
        [
          HEADER,
          '2024-01-01,DEPOSIT,,,10000,0,USD,"Initial, ""seed"" money"',
          '2024-01-02,BUY,TXA,10,100,1,USD,"two\r\nlines"',
          '2024-01-03,SELL,TXA,4,120.12345678,0,USD,',
          '2024-01-04,DIVIDEND,TXA,6,0.5,0,EUR,',
          '2024-01-04,FEE,,,2.5,0,USD," padded "',
          '2024-01-05,SPLIT,TXA,2,,0,USD,',
          '2024-01-06,WITHDRAWAL,,,100,0,USD,',
          '2024-01-06,BUY,TXB,0.00000001,60000.5,0,USD,',
          '',
        ].join('\r\n'),
      );

      const dst = await fresh('CSV target');
      const dry = await postCsv(t, alice.cookie, dst, out.text, true);
      expect(dry.status).toBe(200);
      const positions = [
        { symbol: 'TXA', quantity: '12', average_cost: '50.05', cost_basis: '600.6' },
        { symbol: 'TXB', quantity: '0.00000001', average_cost: '60000.5', cost_basis: '0.00060001' },
      ];
      expect(dry.body).toEqual({ dry_run: true, accepted: 8, rejected: [], problem: null, positions });
      expect((await stored(t, dst)).transactions).toEqual([]);

      changed.length = 0;
      const real = await postCsv(t, alice.cookie, dst, out.text, false);
      expect(real).toEqual({ status: 200, body: { dry_run: false, accepted: 8, rejected: [], problem: null, positions } });
      await poll('portfolio.changed after the import', () => changed.some((m) => m.portfolio_id === dst));
      expect((await exportCsv(t, alice.cookie, dst)).text).toBe(out.text);
      expect(await positionsOf(t, alice.cookie, dst)).toEqual(await positionsOf(t, alice.cookie, src));
      expect(await positionsOf(t, alice.cookie, dst)).toEqual({ TXA: ['12', '50.05'], TXB: ['0.00000001', '60000.5'] });
    });

    it('reads any column order and case, without note, with a BOM, LF line ends and blank lines; imported lines follow the existing ones of their day', async () => {
      const pid = await fresh('CSV loose');
      expect((await buy(pid, 'TXA', '2', '10', '2024-02-01')).status).toBe(201);
      const csv = '\uFEFFSymbol,TYPE,Date,Quantity,Price,Fee,Currency\n\ntxa,sell,2024-02-01,2,11,,\n  \nTXA,buy,2024-02-02,1,12,0.5,usd\n';
      const r = await postCsv(t, alice.cookie, pid, csv);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ dry_run: false, accepted: 2, rejected: [], positions: [{ symbol: 'TXA', quantity: '1', average_cost: '12.5' }] });
      const list = (await api(t, alice.cookie, 'GET', txPath(pid))).body.items;
      expect(list.map((x: Tx) => [x.date, x.type, x.quantity, x.fee, x.currency, x.note])).toEqual([
        ['2024-02-01', 'BUY', '2', '0', 'USD', null],
        ['2024-02-01', 'SELL', '2', '0', 'USD', null],
        ['2024-02-02', 'BUY', '1', '0.5', 'USD', null],
      ]);
    });

    it('a dry run reports each rejected line and why, and writes nothing; the real import of the same file writes nothing either (400, the report in details)', async () => {
      const pid = await fresh('CSV bad');
      expect((await buy(pid, 'TXA', '1', '10', '2024-01-01')).status).toBe(201);
      const csv = [
        'date,type,symbol,quantity,price,fee,currency,note',
        '2024-01-02,BUY,TXA,10,100,0,USD,fine',
        '2024-01-03,BUY,TXA,10,,0,USD,no price',
        `${TOMORROW},SELL,TXA,1,100,0,USD,future`,
        '2024-01-04,SPLIT,TXA,0,,0,USD,ratio 0',
        '2024-01-05,BUY,NOPE2,1,1,0,USD,unknown symbol',
        '2024-01-06,BUY,TXA,1,1,-1,USD,negative fee',
        '2024-01-07,BUY,TXA,1,1',
        '2024-01-08,TRADE,TXA,1,1,0,USD,"multi',
        'line note"',
        '2024-01-09,DEPOSIT,TXA,,5,0,USD,deposit with a symbol',
      ].join('\r\n');
      const rejected = [
        { line: 3, errors: ['price is required for a BUY (price per share)'] },
        { line: 4, errors: [`date ${TOMORROW} is in the future (today is ${TODAY} UTC)`] },
        { line: 5, errors: [expect.stringMatching(/^quantity must be a decimal number .* greater than 0/)] },
        { line: 6, errors: ['Unknown symbol NOPE2: not in the catalog (GET /api/assets)'] },
        { line: 7, errors: [expect.stringMatching(/^fee must be a decimal number .* at least 0/)] },
        { line: 8, errors: ['expected 8 fields (date,type,symbol,quantity,price,fee,currency,note), got 5'] },
        { line: 9, errors: ['type must be one of BUY, SELL, DIVIDEND, FEE, SPLIT, DEPOSIT, WITHDRAWAL'] },
        { line: 11, errors: ['symbol must be empty for a DEPOSIT'] },
      ];
      const before = await stored(t, pid);
      const dry = await postCsv(t, alice.cookie, pid, csv, true);
      expect(dry).toEqual({ status: 200, body: { dry_run: true, accepted: 1, rejected, problem: null, positions: [] } });
      expect(await stored(t, pid)).toEqual(before);

      const real = await postCsv(t, alice.cookie, pid, csv, false);
      expect(real.status).toBe(400);
      expect(real.body).toEqual({
        statusCode: 400,
        error: 'BAD_REQUEST',
        message: 'Import refused, nothing was written: 8 line(s) rejected',
        details: { dry_run: false, accepted: 1, rejected, problem: null, positions: [] },
      });
      expect(await stored(t, pid)).toEqual(before);
    });

    it('a replay problem refuses the whole import: on an imported line, or on an existing transaction', async () => {
      const pid = await fresh('CSV replay');
      expect((await post(pid, { type: 'DEPOSIT', price: '100', date: '2024-01-10' })).status).toBe(201);
      const withdrawal = await post(pid, { type: 'WITHDRAWAL', price: '100', date: '2024-01-20' });
      expect(withdrawal.status).toBe(201);
      const before = await stored(t, pid);

      const oversell = 'date,type,symbol,quantity,price,fee,currency\n2024-01-11,BUY,TXA,1,10,0,USD\n2024-01-12,SELL,TXA,2,10,0,USD\n';
      const dry = await postCsv(t, alice.cookie, pid, oversell, true);
      const message = 'SELL_EXCEEDS_HOLDING: cannot sell 2 TXA on 2024-01-12: 1 held that day (line 3)';
      expect(dry).toEqual({
        status: 200,
        body: {
          dry_run: true,
          accepted: 2,
          rejected: [{ line: 3, errors: [message] }],
          problem: { code: 'SELL_EXCEEDS_HOLDING', line: 3, message },
          positions: [],
        },
      });
      const real = await postCsv(t, alice.cookie, pid, oversell);
      expect(real.status).toBe(400);
      expect(real.body.details.problem).toEqual({ code: 'SELL_EXCEEDS_HOLDING', line: 3, message });

      // A purchase before the withdrawal leaves too little cash for it: the existing withdrawal is named.
      const spend = 'date,type,symbol,quantity,price,fee,currency\n2024-01-15,BUY,TXA,1,50,0,USD\n';
      const refused = await postCsv(t, alice.cookie, pid, spend, false);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toMatch(/^Import refused, nothing was written: WITHDRAWAL_EXCEEDS_CASH: cannot withdraw 100 on 2024-01-20/);
      expect(refused.body.details).toMatchObject({
        rejected: [],
        problem: { code: 'WITHDRAWAL_EXCEEDS_CASH', transaction_id: withdrawal.body.id },
        positions: [],
      });
      expect(await stored(t, pid)).toEqual(before);
    });

    it('refuses what is not an import: no header, a bad header, not CSV, another content type, over 1 MB, over 10000 lines', async () => {
      const pid = await fresh('CSV refused');
      const before = await stored(t, pid);
      const cases: [string, string, number, RegExp][] = [
        ['', 'text/csv', 400, /Send the CSV as the request body|no header/],
        ['\r\n\r\n', 'text/csv', 400, /The CSV has no header/],
        ['date,type,symbol,quantity,price\n', 'text/csv', 400, /Bad CSV header \(missing columns fee, currency\)/],
        ['date,type,symbol,quantity,price,fee,currency,amount\n', 'text/csv', 400, /unknown column "amount"/],
        ['date,type,symbol,quantity,price,fee,currency,Date\n', 'text/csv', 400, /column date named more than once/],
        ['date,type,symbol,quantity,price,fee,currency\n"2024-01-01,BUY\n', 'text/csv', 400, /not valid CSV: Quote Not Closed/],
        ['{"a":1}', 'application/json', 400, /Send the CSV as the request body, with Content-Type: text\/csv/],
      ];
      for (const [body, type, status, message] of cases) {
        const r = await postCsv(t, alice.cookie, pid, body, undefined, type);
        expect(r.status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(status);
        expect(r.body.message).toMatch(message);
      }
      const line = '2024-01-02,DEPOSIT,,,1,0,USD\n';
      const big = await postCsv(
        t,
        alice.cookie,
        pid,
        `date,type,symbol,quantity,price,fee,currency\n${line.repeat(Math.ceil((1024 * 1024) / line.length) + 1)}`,
      );
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ statusCode: 413, error: 'PAYLOAD_TOO_LARGE' });
      const many = await postCsv(t, alice.cookie, pid, `date,type,symbol,quantity,price,fee,currency\n${line.repeat(10_001)}`);
      expect(many.status).toBe(400);
      expect(many.body.message).toMatch(/at most 10000 transactions per import \(got 10001\)/);
      const query = await postCsv(t, alice.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n', 'yes' as unknown as boolean);
      expect(query.status).toBe(400);
      expect(query.body.message).toMatch(/dry_run must be true or false/);
      expect(await stored(t, pid)).toEqual(before);
    });

    it('imports 10000 lines in one go', async () => {
      const pid = await fresh('CSV large');
      const lines = Array.from({ length: 10_000 }, (_, i) => `2024-01-02,BUY,TXA,1,${100 + (i % 3)},0,USD,lot ${i + 1}`);
      const r = await postCsv(t, alice.cookie, pid, `date,type,symbol,quantity,price,fee,currency,note\n${lines.join('\n')}\n`);
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
      expect(r.body.positions).toEqual([{ symbol: 'TXA', quantity: '10000', average_cost: '100.9999', cost_basis: '1009999' }]);
      const rows = await sql<{ note: string }>(t.databaseUrl, `SELECT note FROM transactions WHERE portfolio_id = $1 ORDER BY id`, [pid]);
      expect(rows).toHaveLength(10_000);
      expect([rows[0].note, rows[9_999].note]).toEqual(['lot 1', 'lot 10000']);
    });
  });

  it('documents the routes and answers what the OpenAPI document says', async () => {
    const openapi = (await (await fetch(`${t.url}/api/docs-json`)).json()) as any;
    const schemaOf = (path: string, method: string, status: number) => openapi.paths[path][method].responses[String(status)].content['application/json'].schema;
    const pid = await fresh('Docs');
    const created = await post(pid, { type: 'BUY', symbol: 'TXA', quantity: '1', price: '2', date: '2024-01-02' });
    const base = '/api/portfolios/{id}/transactions';
    const checks: [string, string, number, unknown][] = [
      [base, 'post', 201, created.body],
      [base, 'get', 200, (await api(t, alice.cookie, 'GET', txPath(pid))).body],
      [`${base}/{txId}`, 'get', 200, (await api(t, alice.cookie, 'GET', txPath(pid, `/${created.body.id}`))).body],
      [`${base}/{txId}`, 'patch', 200, (await api(t, alice.cookie, 'PATCH', txPath(pid, `/${created.body.id}`), { note: 'n' })).body],
      [
        `${base}/import`,
        'post',
        200,
        (await postCsv(t, alice.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n2024-01-03,SELL,TXA,1,1,0,USD\n', true)).body,
      ],
      [
        `${base}/import`,
        'post',
        200,
        (await postCsv(t, alice.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n2024-01-03,SELL,TXA,2,1,0,USD\n', true)).body,
      ],
      [base, 'post', 400, (await post(pid, { type: 'SELL', symbol: 'TXA', quantity: '5', price: '1', date: '2024-01-03' })).body],
      [
        `${base}/import`,
        'post',
        400,
        (await postCsv(t, alice.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n2024-01-03,SELL,TXA,2,1,0,USD\n')).body,
      ],
    ];
    for (const [path, method, status, body] of checks)
      expect(checkSchema(body, schemaOf(path, method, status), openapi, { closed: true }), `${method} ${path} ${status}`).toEqual([]);
    expect(Object.keys(openapi.paths[`/api/portfolios/{id}/transactions.csv`].get.responses['200'].content)).toEqual(['text/csv']);
    expect(Object.keys(openapi.paths[`${base}/import`].post.requestBody.content)).toEqual(['text/csv']);
    expect(openapi.paths[`${base}/import`].post.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['dry_run', 'id']);
  });
});

describe('transactions: a change reaches WebSocket subscribers of the portfolio', () => {
  let t: TestApp;
  let user: { cookie: string; userId: number };
  const open: Probe[] = [];

  const subscribe = async (app: TestApp, cookie: string, pid: number) => {
    const p = await openProbe('websocket', app, { origin: app.url, cookie });
    open.push(p);
    expect((await p.next('connection')).data.authenticated).toBe(true);
    p.send('subscribe_portfolio', { portfolio_id: pid });
    await p.next('subscribed');
    return { probe: p, snapshot: await p.next('portfolio_update') };
  };

  beforeAll(async () => {
    t = await startTestApp();
    user = await loginAs(t, 'tx-push');
    await addAssets(t, ['TXP'], '100');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await poll('all connections released', () => t.app.get(RealtimeHub).stats().total_connections === 0);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('each POST, PATCH, DELETE and import pushes a fresh portfolio_update', async () => {
    const pid = await createPortfolio(t, user.cookie, 'Pushed');
    const { probe, snapshot } = await subscribe(t, user.cookie, pid);
    expect(snapshot.data).toMatchObject({ portfolio_id: pid, positions_count: 0, total_value: 0 });
    const tx = await api(t, user.cookie, 'POST', txPath(pid), { type: 'BUY', symbol: 'TXP', quantity: '10', price: '90', date: '2024-01-02' });
    expect(tx.status).toBe(201);
    let u = await probe.next('portfolio_update');
    expect(u.data).toMatchObject({ portfolio_id: pid, positions_count: 1, total_value: 1000 });
    expect(u.data.seq).toBeGreaterThan(snapshot.data.seq);
    expect((await api(t, user.cookie, 'PATCH', txPath(pid, `/${tx.body.id}`), { quantity: '12' })).status).toBe(200);
    u = await probe.next('portfolio_update');
    expect(u.data).toMatchObject({ positions_count: 1, total_value: 1200 });
    const imp = await postCsv(t, user.cookie, pid, 'date,type,symbol,quantity,price,fee,currency\n2024-01-03,SELL,TXP,2,100,0,USD\n');
    expect(imp.status).toBe(200);
    expect((await probe.next('portfolio_update')).data).toMatchObject({ positions_count: 1, total_value: 1000 });
    const sale = (await api(t, user.cookie, 'GET', txPath(pid))).body.items[1];
    expect(sale).toMatchObject({ type: 'SELL', quantity: '2' });
    expect((await api(t, user.cookie, 'DELETE', txPath(pid, `/${sale.id}`))).status).toBe(204);
    expect((await probe.next('portfolio_update')).data).toMatchObject({ total_value: 1200 });
    expect((await api(t, user.cookie, 'DELETE', txPath(pid, `/${tx.body.id}`))).status).toBe(204);
    expect((await probe.next('portfolio_update')).data).toMatchObject({ positions_count: 0, total_value: 0 });
  });

  describe('on a second instance (shared database, Redis bus)', () => {
    let a: TestApp;
    let b: TestApp;
    const env = { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: `rmtest:${randomBytes(6).toString('hex')}:` };

    beforeAll(async () => {
      a = await startTestApp(env);
      b = await startTestApp(env, { databaseUrl: a.databaseUrl });
      await Promise.all([a.app.get(MessageBus).ready(), b.app.get(MessageBus).ready()]);
      await addAssets(a, ['TXR'], '100');
      await addAssets(b, ['TXR'], '100');
    });
    afterAll(async () => {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await b?.close();
      await a?.close();
    });

    it('a transaction recorded on instance A updates a subscriber on instance B', async () => {
      const u = await loginAs(a, 'tx-cluster');
      const pid = await createPortfolio(a, u.cookie, 'Clustered');
      const { probe } = await subscribe(b, u.cookie, pid);
      const r = await api(a, u.cookie, 'POST', txPath(pid), { type: 'BUY', symbol: 'TXR', quantity: '3', price: '99', date: '2024-01-02' });
      expect(r.status).toBe(201);
      expect((await probe.next('portfolio_update', (m) => m.data.positions_count === 1)).data).toMatchObject({ portfolio_id: pid, total_value: 300 });
    });
  });
});

describe('migration 1764500000000: positions become opening BUY transactions, and back', () => {
  let url: string;
  let drop: () => Promise<void>;
  let ds: DataSource;

  beforeAll(async () => {
    const db = await createTestDatabase();
    url = db.url;
    drop = db.drop;
    // A session time zone far from UTC: the migration must still take the UTC day.
    const name = new URL(url).pathname.slice(1);
    await sql(url, `ALTER DATABASE ${name} SET timezone = 'Pacific/Kiritimati'`);
    ds = await new DataSource({ ...buildDataSourceOptions(url, 2), logging: false }).initialize();
    await ds.runMigrations();
    await undoMigrationsThrough(ds, 'Transactions1764500000000'); // back to just before the transactions table
  });
  afterAll(async () => {
    await ds?.destroy();
    await drop?.();
  });

  const positions = () => sql(url, `SELECT id, portfolio_id, asset_id, quantity::text, average_cost::text, created_at, updated_at FROM positions ORDER BY id`);
  const transactions = () =>
    sql<{ portfolio_id: number; type: string; symbol: string; quantity: string; price: string; fee: string; currency: string; date: string; note: string }>(
      url,
      `SELECT t.portfolio_id, t.type, a.symbol, t.quantity::text, t.price::text, t.fee::text, t.currency, to_char(t.date, 'YYYY-MM-DD') AS date, t.note
         FROM transactions t JOIN assets a ON a.id = t.asset_id ORDER BY t.id`,
    );
  const tableExists = async () => (await sql<{ r: string | null }>(url, `SELECT to_regclass('public.transactions')::text AS r`))[0].r !== null;

  it('up: one opening BUY per position (UTC day of created_at, average cost, the asset currency), positions untouched; down: the table goes, positions stay; up again recreates them', async () => {
    expect(await tableExists()).toBe(false);
    await sql(
      url,
      `INSERT INTO assets (symbol, name, asset_type, currency) VALUES ('MGA', 'A', 'STOCK', 'USD'), ('MGB', 'B', 'STOCK', 'CHF'), ('MGC', 'C', 'CRYPTO', 'USDT')`,
    );
    await sql(url, `INSERT INTO users (username, password_hash) VALUES ('mig', 'x'), ('mig2', 'x')`);
    await sql(
      url,
      `INSERT INTO portfolios (owner_id, name, base_currency) SELECT id, 'P', CASE username WHEN 'mig' THEN 'EUR' ELSE 'USD' END FROM users ORDER BY id`,
    );
    for (const [user, symbol, quantity, cost, at] of [
      ['mig', 'MGA', '10.5', '100.25', '2024-03-10T23:30:00Z'],
      ['mig', 'MGB', '2', '0.12345678', '2024-03-11T00:30:00+02:00'],
      ['mig', 'MGC', '0.5', '42000', '2024-03-11T12:00:00Z'],
      ['mig2', 'MGA', '0', '5', '2024-03-12T00:00:00Z'],
      ['mig2', 'MGB', '3', '7', '2024-03-12T00:00:00Z'],
    ]) {
      await sql(
        url,
        `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost, created_at)
         SELECT p.id, a.id, $3, $4, $5::timestamptz FROM users u JOIN portfolios p ON p.owner_id = u.id, assets a WHERE u.username = $1 AND a.symbol = $2`,
        [user, symbol, quantity, cost, at],
      );
    }
    const before = await positions();
    const [p1, p2] = (await sql<{ id: number }>(url, `SELECT p.id FROM portfolios p JOIN users u ON u.id = p.owner_id ORDER BY u.username`)).map((r) => r.id);
    const expected = [
      { portfolio_id: p1, type: 'BUY', symbol: 'MGA', quantity: '10.50000000', price: '100.25000000', fee: '0.00000000', currency: 'USD', date: '2024-03-10' },
      { portfolio_id: p1, type: 'BUY', symbol: 'MGB', quantity: '2.00000000', price: '0.12345678', fee: '0.00000000', currency: 'CHF', date: '2024-03-10' },
      { portfolio_id: p1, type: 'BUY', symbol: 'MGC', quantity: '0.50000000', price: '42000.00000000', fee: '0.00000000', currency: 'EUR', date: '2024-03-11' },
      // mig2's MGA has quantity 0: no transaction.
      { portfolio_id: p2, type: 'BUY', symbol: 'MGB', quantity: '3.00000000', price: '7.00000000', fee: '0.00000000', currency: 'CHF', date: '2024-03-12' },
    ].map((x) => ({ ...x, note: 'Opening position (migrated)' }));

    await ds.runMigrations();
    expect(await transactions()).toEqual(expected);
    expect(await positions()).toEqual(before);
    // Replaying the migrated ledger gives the positions back (the zero one excepted).
    const txs = await transactions();
    for (const pid of [p1, p2]) {
      const replay = replayLedger(txs.filter((x) => x.portfolio_id === pid).map((x, i) => ({ ...x, seq: i, type: 'BUY' as const })));
      expect(replay.ok).toBe(true);
      const held = replay.ok ? replay.result.holdings.map((h) => [h.symbol, h.quantity, h.averageCost]) : [];
      const rows = await sql<{ symbol: string; q: string; c: string }>(
        url,
        `SELECT a.symbol, trim_scale(quantity)::text AS q, trim_scale(average_cost)::text AS c FROM positions pos JOIN assets a ON a.id = pos.asset_id
          WHERE portfolio_id = $1 AND quantity > 0 ORDER BY a.symbol`,
        [pid],
      );
      expect(held).toEqual(rows.map((r) => [r.symbol, r.q, r.c]));
    }

    await undoMigrationsThrough(ds, 'Transactions1764500000000');
    expect(await tableExists()).toBe(false);
    expect(await positions()).toEqual(before);

    await ds.runMigrations();
    expect(await transactions()).toEqual(expected);
    expect(await positions()).toEqual(before);
  });
});
