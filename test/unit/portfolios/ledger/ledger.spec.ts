import { describe, expect, it } from 'vitest';
import { Ledger, replayLedger, replayUntil } from '../../../../src/portfolios/ledger/ledger';
import type { LedgerReplay, LedgerResult, LedgerTransaction, TransactionType } from '../../../../src/portfolios/ledger/ledger.types';

type Fields = Partial<Pick<LedgerTransaction, 'symbol' | 'quantity' | 'price' | 'fee'>>;
function tx(seq: number, date: string, type: TransactionType, f: Fields = {}): LedgerTransaction {
  return { seq, date, type, symbol: f.symbol ?? null, quantity: f.quantity ?? null, price: f.price ?? null, fee: f.fee ?? '0', currency: 'USD' };
}
const buy = (seq: number, date: string, symbol: string, quantity: string, price: string, fee = '0') => tx(seq, date, 'BUY', { symbol, quantity, price, fee });
const sell = (seq: number, date: string, symbol: string, quantity: string, price: string, fee = '0') => tx(seq, date, 'SELL', { symbol, quantity, price, fee });
const split = (seq: number, date: string, symbol: string, r: string) => tx(seq, date, 'SPLIT', { symbol, quantity: r });
const deposit = (seq: number, date: string, amount: string) => tx(seq, date, 'DEPOSIT', { price: amount });
const withdrawal = (seq: number, date: string, amount: string) => tx(seq, date, 'WITHDRAWAL', { price: amount });

const TODAY = { today: '2025-12-31' };

function ok(r: LedgerReplay): LedgerResult {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.problem)}`);
  return r.result;
}

describe('replayLedger: buys, average cost and realised P/L', () => {
  // 01-02 DEPOSIT 10000                                   cash 10000
  // 01-03 BUY 10 @ 100, fee 5   → cost 1005               qty 10, cost 1005,   avg 100.5,  cash 8995
  // 01-10 BUY  5 @ 130, fee 2.5 → cost 652.5              qty 15, cost 1657.5, avg 110.5,  cash 8342.5
  // 02-01 SELL 6 @ 150, fee 3   → proceeds 900 − 3 = 897, cost out 6 × 110.5 = 663, realised +234
  //                                                       qty 9,  cost 994.5,  avg 110.5,  cash 9239.5
  // 03-01 SELL 9 @ 90,  fee 0   → proceeds 810, cost out 994.5, realised −184.5 (total 49.5)
  //                                                       no holding,                      cash 10049.5
  const txs = [
    deposit(1, '2024-01-02', '10000'),
    buy(2, '2024-01-03', 'AAPL', '10', '100', '5'),
    buy(3, '2024-01-10', 'AAPL', '5', '130', '2.5'),
    sell(4, '2024-02-01', 'AAPL', '6', '150', '3'),
    sell(5, '2024-03-01', 'AAPL', '9', '90'),
  ];

  it('averages the cost of two buys at different prices, fees included', () => {
    const r = ok(replayUntil(txs, '2024-01-31', TODAY));
    expect(r.holdings).toEqual([{ symbol: 'AAPL', quantity: '15', averageCost: '110.5', cost: '1657.5' }]);
    expect(r.cash).toBe('8342.5');
    expect(r.netFlows).toBe('10000');
    expect(r.realised).toEqual({ AAPL: '0' });
  });

  it('a partial sale realises proceeds − fee − quantity × average cost and keeps the average cost', () => {
    const r = ok(replayUntil(txs, '2024-02-01', TODAY));
    expect(r.holdings).toEqual([{ symbol: 'AAPL', quantity: '9', averageCost: '110.5', cost: '994.5' }]);
    expect(r.realised).toEqual({ AAPL: '234' });
    expect(r.realisedTotal).toBe('234');
    expect(r.cash).toBe('9239.5');
  });

  it('a full sale removes the holding and keeps its realised P/L', () => {
    const r = ok(replayLedger(txs, TODAY));
    expect(r).toEqual({
      holdings: [],
      cash: '10049.5',
      netFlows: '10000',
      realised: { AAPL: '49.5' },
      realisedTotal: '49.5',
      dividends: '0',
      fees: '0',
    });
  });

  it('sorts by date then seq whatever the input order', () => {
    expect(ok(replayLedger([...txs].reverse(), TODAY))).toEqual(ok(replayLedger(txs, TODAY)));
  });

  it('rounds HALF_UP at output only: 8 places for money', () => {
    // BUY 3 @ 1, fee 0.01 → cost 3.01, avg 1.0033333333… → 1.00333333
    // BUY 3 @ 0.2222222222 (no fee) → cost 0.6666666666, avg 0.2222222222 → 0.22222222
    // then SELL 1 of the 3 XX → cost out 0.2222222222, realised 0.3 − 0.2222222222 = 0.0777777778 → 0.07777778
    const r = ok(
      replayLedger(
        [
          deposit(1, '2024-01-01', '100'),
          buy(2, '2024-01-02', 'A', '3', '1', '0.01'),
          buy(3, '2024-01-02', 'XX', '3', '0.2222222222'),
          sell(4, '2024-01-03', 'XX', '1', '0.3'),
        ],
        TODAY,
      ),
    );
    expect(r.holdings).toEqual([
      { symbol: 'A', quantity: '3', averageCost: '1.00333333', cost: '3.01' },
      { symbol: 'XX', quantity: '2', averageCost: '0.22222222', cost: '0.44444444' },
    ]);
    expect(r.realised).toEqual({ A: '0', XX: '0.07777778' });
    // cash 100 − 3.01 − 0.6666666666 + 0.3 = 96.6233333334 → 96.62333333
    expect(r.cash).toBe('96.62333333');
  });
});

describe('replayLedger: splits', () => {
  // BUY 10 @ 50, fee 1      → qty 10, cost 501,  avg 50.1     (no cash: implicit deposit 501)
  // SPLIT 2 (2-for-1)       → qty 20, cost 501,  avg 25.05
  // BUY 20 @ 30             → qty 40, cost 1101, avg 27.525   (implicit deposit 600, netFlows 1101)
  // SPLIT 0.1 (1-for-10)    → qty 4,  cost 1101, avg 275.25
  // SELL 1 @ 300            → cost out 275.25, realised 24.75; qty 3, cost 825.75, avg 275.25; cash 300
  const txs = [
    buy(1, '2024-01-02', 'XYZ', '10', '50', '1'),
    split(2, '2024-02-01', 'XYZ', '2'),
    buy(3, '2024-02-02', 'XYZ', '20', '30'),
    split(4, '2024-03-01', 'XYZ', '0.1'),
    sell(5, '2024-03-02', 'XYZ', '1', '300'),
  ];

  it('2-for-1 doubles the quantity, halves the average cost, keeps the cost', () => {
    expect(ok(replayUntil(txs, '2024-02-01', TODAY)).holdings).toEqual([{ symbol: 'XYZ', quantity: '20', averageCost: '25.05', cost: '501' }]);
    expect(ok(replayUntil(txs, '2024-02-02', TODAY)).holdings).toEqual([{ symbol: 'XYZ', quantity: '40', averageCost: '27.525', cost: '1101' }]);
  });

  it('1-for-10 divides the quantity by 10, multiplies the average cost by 10, keeps the cost', () => {
    expect(ok(replayUntil(txs, '2024-03-01', TODAY)).holdings).toEqual([{ symbol: 'XYZ', quantity: '4', averageCost: '275.25', cost: '1101' }]);
  });

  it('a sale after the splits uses the split-adjusted average cost', () => {
    const r = ok(replayLedger(txs, TODAY));
    expect(r.holdings).toEqual([{ symbol: 'XYZ', quantity: '3', averageCost: '275.25', cost: '825.75' }]);
    expect(r.realised).toEqual({ XYZ: '24.75' });
    expect(r.cash).toBe('300');
    expect(r.netFlows).toBe('1101');
  });
});

describe('replayLedger: dividends, fees, deposits and withdrawals', () => {
  // 01-01 DEPOSIT 1000                                      cash 1000, netFlows 1000
  // 01-02 BUY ABC 10 @ 50                                   cash 500
  // 02-01 DIVIDEND ABC 10 × 0.75, fee 1.5 → amount 7.5     cash 506, dividends 7.5, fees 1.5
  // 03-01 DIVIDEND ABC total 3 (no quantity)               cash 509, dividends 10.5
  // 03-15 FEE 12 (custody, no symbol)                      cash 497, fees 13.5
  // 04-01 WITHDRAWAL 200                                   cash 297, netFlows 800
  const txs = [
    deposit(1, '2024-01-01', '1000'),
    buy(2, '2024-01-02', 'ABC', '10', '50'),
    tx(3, '2024-02-01', 'DIVIDEND', { symbol: 'ABC', quantity: '10', price: '0.75', fee: '1.5' }),
    tx(4, '2024-03-01', 'DIVIDEND', { symbol: 'ABC', price: '3' }),
    tx(5, '2024-03-15', 'FEE', { price: '12' }),
    withdrawal(6, '2024-04-01', '200'),
  ];

  it('adds dividends (shares × per-share, or the total) and fees to cash and to their totals', () => {
    const r = ok(replayLedger(txs, TODAY));
    expect(r).toEqual({
      holdings: [{ symbol: 'ABC', quantity: '10', averageCost: '50', cost: '500' }],
      cash: '297',
      netFlows: '800',
      realised: { ABC: '0' },
      realisedTotal: '0',
      dividends: '10.5',
      fees: '13.5',
    });
    // Identity at a price of 50: value 500 + 297 = 797; 797 − 800 = −3 = unrealised 0 + realised 0 + dividends 10.5 − fees 13.5.
  });

  it('a withdrawal of exactly the cash held is accepted', () => {
    const r = ok(replayLedger([...txs, withdrawal(7, '2024-04-02', '297')], TODAY));
    expect(r.cash).toBe('0');
    expect(r.netFlows).toBe('503');
  });
});

describe('replayLedger: implicit deposits and same-day flows', () => {
  it('a buy beyond the cash counts the shortfall as a deposit that day (deposit entered first)', () => {
    // seq 1 DEPOSIT 500, seq 2 BUY 10 @ 80 = 800 → shortfall 300: cash 0, netFlows 800
    const r = ok(replayLedger([buy(2, '2024-05-01', 'Q', '10', '80'), deposit(1, '2024-05-01', '500')], TODAY));
    expect(r.cash).toBe('0');
    expect(r.netFlows).toBe('800');
  });

  it('same day, buy entered first: the whole buy is an implicit deposit, then the deposit stays as cash', () => {
    // seq 1 BUY 800 → implicit deposit 800; seq 2 DEPOSIT 500 → cash 500, netFlows 1300
    const r = ok(replayLedger([deposit(2, '2024-05-01', '500'), buy(1, '2024-05-01', 'Q', '10', '80')], TODAY));
    expect(r.cash).toBe('500');
    expect(r.netFlows).toBe('1300');
  });

  it('buys only: zero cash and the purchases (fees included) as the net flows', () => {
    // 2 × 10.5 + 0.99 = 21.99; 3 × 7 = 21 → 42.99
    const r = ok(replayLedger([buy(1, '2024-01-01', 'A', '2', '10.5', '0.99'), buy(2, '2024-01-05', 'B', '3', '7')], TODAY));
    expect(r.cash).toBe('0');
    expect(r.netFlows).toBe('42.99');
  });

  it('a fee beyond the cash is an implicit deposit too', () => {
    // DEPOSIT 5, FEE 8 → shortfall 3: cash 0, netFlows 8, fees 8
    const r = ok(replayLedger([deposit(1, '2024-01-01', '5'), tx(2, '2024-01-02', 'FEE', { price: '8' })], TODAY));
    expect([r.cash, r.netFlows, r.fees]).toEqual(['0', '8', '8']);
  });
});

describe('replayLedger: refusals', () => {
  it('a sell beyond the shares held', () => {
    expect(replayLedger([buy(1, '2024-01-01', 'A', '5', '10'), sell(2, '2024-01-02', 'A', '5.5', '10')], TODAY)).toEqual({
      ok: false,
      problem: { code: 'SELL_EXCEEDS_HOLDING', seq: 2, symbol: 'A', held: '5', sold: '5.5' },
    });
  });

  it('a sell of a symbol never held, and a sell before the buy (date order)', () => {
    expect(replayLedger([sell(1, '2024-01-01', 'A', '1', '10')], TODAY)).toEqual({
      ok: false,
      problem: { code: 'SELL_EXCEEDS_HOLDING', seq: 1, symbol: 'A', held: '0', sold: '1' },
    });
    expect(replayLedger([buy(1, '2024-01-02', 'A', '1', '10'), sell(2, '2024-01-01', 'A', '1', '10')], TODAY)).toMatchObject({
      ok: false,
      problem: { code: 'SELL_EXCEEDS_HOLDING', seq: 2 },
    });
  });

  it('a split ratio of 0 or below', () => {
    for (const r of ['0', '-2']) {
      expect(replayLedger([buy(1, '2024-01-01', 'A', '1', '10'), split(2, '2024-01-02', 'A', r)], TODAY)).toMatchObject({
        ok: false,
        problem: { code: 'INVALID', seq: 2, field: 'quantity' },
      });
    }
  });

  it('a split of a symbol not held (never, or no longer)', () => {
    expect(replayLedger([split(7, '2024-01-02', 'A', '2')], TODAY)).toEqual({ ok: false, problem: { code: 'NOTHING_TO_SPLIT', seq: 7, symbol: 'A' } });
    expect(replayLedger([buy(1, '2024-01-01', 'A', '1', '10'), sell(2, '2024-01-02', 'A', '1', '10'), split(3, '2024-01-03', 'A', '2')], TODAY)).toEqual({
      ok: false,
      problem: { code: 'NOTHING_TO_SPLIT', seq: 3, symbol: 'A' },
    });
  });

  it('a withdrawal beyond the cash held', () => {
    expect(replayLedger([deposit(1, '2024-01-01', '100'), withdrawal(2, '2024-01-02', '100.01')], TODAY)).toEqual({
      ok: false,
      problem: { code: 'WITHDRAWAL_EXCEEDS_CASH', seq: 2, cash: '100', amount: '100.01' },
    });
  });

  it('a date after today (today itself is fine)', () => {
    const opts = { today: '2024-06-30' };
    expect(replayLedger([deposit(1, '2024-06-30', '1')], opts).ok).toBe(true);
    expect(replayLedger([deposit(1, '2024-06-30', '1'), deposit(2, '2024-07-01', '1')], opts)).toMatchObject({
      ok: false,
      problem: { code: 'INVALID', seq: 2, field: 'date' },
    });
  });

  it('today defaults to the current UTC date', () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect(replayLedger([deposit(1, tomorrow, '1')])).toMatchObject({ ok: false, problem: { code: 'INVALID', field: 'date' } });
    expect(replayLedger([deposit(1, '2020-01-01', '1')]).ok).toBe(true);
  });

  it.each<[string, string, LedgerTransaction]>([
    ['BUY without price', 'price', tx(1, '2024-01-01', 'BUY', { symbol: 'A', quantity: '1' })],
    ['BUY quantity 0', 'quantity', buy(1, '2024-01-01', 'A', '0', '1')],
    ['BUY without symbol', 'symbol', tx(1, '2024-01-01', 'BUY', { quantity: '1', price: '1' })],
    ['SELL price 0', 'price', sell(1, '2024-01-01', 'A', '1', '0')],
    ['negative fee', 'fee', buy(1, '2024-01-01', 'A', '1', '1', '-1')],
    ['not a number', 'price', deposit(1, '2024-01-01', 'abc')],
    ['hex is not a decimal', 'price', deposit(1, '2024-01-01', '0x10')],
    ['DEPOSIT of 0', 'price', deposit(1, '2024-01-01', '0')],
    ['FEE without amount', 'price', tx(1, '2024-01-01', 'FEE', {})],
    ['DIVIDEND without symbol', 'symbol', tx(1, '2024-01-01', 'DIVIDEND', { price: '1' })],
    ['DIVIDEND quantity 0', 'quantity', tx(1, '2024-01-01', 'DIVIDEND', { symbol: 'A', quantity: '0', price: '1' })],
    ['impossible date', 'date', deposit(1, '2024-02-30', '1')],
    ['date not YYYY-MM-DD', 'date', deposit(1, '2024-2-3', '1')],
    ['unknown type', 'type', { ...deposit(1, '2024-01-01', '1'), type: 'GIFT' as TransactionType }],
  ])('%s → INVALID %s', (_name, field, t) => {
    expect(replayLedger([t], TODAY)).toMatchObject({ ok: false, problem: { code: 'INVALID', seq: 1, field } });
  });

  it('reports the first problem in replay order, not input order', () => {
    // seq 9 (2024-03-01, withdrawal with no cash) is listed first but comes after seq 2 (2024-01-02, sell of nothing).
    const r = replayLedger([withdrawal(9, '2024-03-01', '1'), sell(2, '2024-01-02', 'A', '1', '1')], TODAY);
    expect(r).toMatchObject({ ok: false, problem: { code: 'SELL_EXCEEDS_HOLDING', seq: 2 } });
  });
});

describe('Ledger (incremental)', () => {
  it('steps one transaction at a time and matches the full replay', () => {
    const txs = [deposit(1, '2024-01-01', '1000'), buy(2, '2024-01-02', 'A', '4', '25', '1'), split(3, '2024-01-03', 'A', '2')];
    const l = new Ledger();
    expect(l.apply(txs[0])).toBeNull();
    expect(l.snapshot().cash).toBe('1000');
    expect(l.apply(txs[1])).toBeNull();
    // cost 4 × 25 + 1 = 101, avg 25.25
    expect(l.snapshot().holdings).toEqual([{ symbol: 'A', quantity: '4', averageCost: '25.25', cost: '101' }]);
    expect(l.apply(txs[2])).toBeNull();
    expect(l.snapshot()).toEqual(ok(replayLedger(txs, TODAY)));
    expect(l.positions.get('A')!.quantity.toString()).toBe('8');
    expect(l.lastDate).toBe('2024-01-03');
  });

  it('a refused transaction changes nothing', () => {
    const l = new Ledger();
    l.apply(deposit(1, '2024-01-01', '50'));
    const before = l.snapshot();
    expect(l.apply(withdrawal(2, '2024-01-02', '60'))).toMatchObject({ code: 'WITHDRAWAL_EXCEEDS_CASH' });
    expect(l.apply(sell(3, '2024-01-02', 'A', '1', '1'))).toMatchObject({ code: 'SELL_EXCEEDS_HOLDING' });
    expect(l.snapshot()).toEqual(before);
  });

  it('refuses a transaction out of (date, seq) order', () => {
    const l = new Ledger();
    l.apply(deposit(5, '2024-01-02', '50'));
    expect(l.apply(deposit(1, '2024-01-01', '1'))).toMatchObject({ code: 'INVALID', field: 'date' });
    expect(l.apply(deposit(4, '2024-01-02', '1'))).toMatchObject({ code: 'INVALID', field: 'date' });
    expect(l.apply(deposit(6, '2024-01-02', '1'))).toBeNull();
  });
});
