import { describe, expect, it } from 'vitest';
import { D } from '../../../../src/common/decimal';
import { dailySnapshots, type DailySnapshot } from '../../../../src/portfolios/ledger/daily-snapshots';
import type { LedgerTransaction, TransactionType } from '../../../../src/portfolios/ledger/ledger.types';
import { timeWeightedReturn } from '../../../../src/portfolios/ledger/returns';

function tx(seq: number, date: string, type: TransactionType, f: Partial<LedgerTransaction> = {}): LedgerTransaction {
  return { seq, date, type, symbol: null, quantity: null, price: null, fee: '0', currency: 'USD', ...f };
}

// 2024-02-28 DEPOSIT 1000; BUY X 10 @ 50                       cash 500, X 10 (cost 500)
// 2024-03-02 (Sat) SPLIT X 2                                     X 20 (cost 500)
// 2024-03-05 (Tue) DEPOSIT 200; SELL X 5 @ 30, fee 1             proceeds 149, cost out 500 × 5/20 = 125 (realised 24)
//                                                                X 15 (cost 375), cash 500 + 200 + 149 = 849
// 2024-03-06 (Wed) BUY Y 4 @ 25                                  Y 4 (cost 100), cash 749; Y never has a close
// 2024-03-07 (Thu) BUY Y 40 @ 25 = 1000 > cash 749               implicit deposit 251, cash 0; Y 44 (cost 1100)
const txs = [
  tx(1, '2024-02-28', 'DEPOSIT', { price: '1000' }),
  tx(2, '2024-02-28', 'BUY', { symbol: 'X', quantity: '10', price: '50' }),
  tx(3, '2024-03-02', 'SPLIT', { symbol: 'X', quantity: '2' }),
  tx(5, '2024-03-05', 'SELL', { symbol: 'X', quantity: '5', price: '30', fee: '1' }),
  tx(4, '2024-03-05', 'DEPOSIT', { price: '200' }),
  tx(6, '2024-03-06', 'BUY', { symbol: 'Y', quantity: '4', price: '25' }),
  tx(7, '2024-03-07', 'BUY', { symbol: 'Y', quantity: '40', price: '25' }),
  tx(8, '2024-03-09', 'SELL', { symbol: 'Q', quantity: '1', price: '1' }), // after the range: not looked at
];
// Unadjusted closes of X: none on the weekend (03-02, 03-03) nor on 03-06.
const X: Record<string, string> = { '2024-02-28': '54', '2024-02-29': '55', '2024-03-01': '56', '2024-03-04': '28.5', '2024-03-05': '29', '2024-03-07': '30' };
const closes = (symbol: string, date: string) => (symbol === 'X' ? (X[date] ?? null) : null);

// Day by day (value = X + Y + cash):
const expected: DailySnapshot[] = [
  // X 10 × 56 = 560, cash 500
  { date: '2024-03-01', value: '1060', cost: '500', cash: '500', netFlows: '1000', flow: '0' },
  // split: X 20 × (56 / 2 = 28, the carried close split-adjusted) = 560
  { date: '2024-03-02', value: '1060', cost: '500', cash: '500', netFlows: '1000', flow: '0' },
  { date: '2024-03-03', value: '1060', cost: '500', cash: '500', netFlows: '1000', flow: '0' },
  // X 20 × 28.5 = 570
  { date: '2024-03-04', value: '1070', cost: '500', cash: '500', netFlows: '1000', flow: '0' },
  // X 15 × 29 = 435, cash 849
  { date: '2024-03-05', value: '1284', cost: '375', cash: '849', netFlows: '1200', flow: '200' },
  // X 15 × 29 (carried) = 435, Y at cost 100, cash 749
  { date: '2024-03-06', value: '1284', cost: '475', cash: '749', netFlows: '1200', flow: '0' },
  // X 15 × 30 = 450, Y at cost 1100, cash 0; implicit deposit 251
  { date: '2024-03-07', value: '1550', cost: '1475', cash: '0', netFlows: '1451', flow: '251' },
];

describe('dailySnapshots', () => {
  it('values every calendar day: carried closes, a split, a same-day deposit and sale, an implicit deposit', () => {
    expect(dailySnapshots(txs, closes, '2024-03-01', '2024-03-07')).toEqual({ ok: true, days: expected });
  });

  it('starting on a day without a close looks back (split-adjusted): 03-01 close 56 / 2 = 28', () => {
    expect(dailySnapshots(txs, closes, '2024-03-02', '2024-03-07')).toEqual({ ok: true, days: expected.slice(1) });
  });

  it('a lookup that answers "last close on or before" gives the same history', () => {
    const dates = Object.keys(X).sort();
    const onOrBefore = (symbol: string, date: string) => {
      if (symbol !== 'X') return null;
      const d = dates.filter((x) => x <= date).pop();
      if (!d) return null;
      // split-adjusted the way such a lookup would be for a split effective 03-02
      return d < '2024-03-02' && date >= '2024-03-02' ? new D(X[d]).div(2).toString() : X[d];
    };
    expect(dailySnapshots(txs, onOrBefore, '2024-03-01', '2024-03-07')).toEqual({ ok: true, days: expected });
  });

  it('a holding with no close yet is valued at its cost; days before the first transaction are 0', () => {
    const r = dailySnapshots(txs, () => null, '2024-02-27', '2024-02-28');
    expect(r).toEqual({
      ok: true,
      days: [
        { date: '2024-02-27', value: '0', cost: '0', cash: '0', netFlows: '0', flow: '0' },
        { date: '2024-02-28', value: '1000', cost: '500', cash: '500', netFlows: '1000', flow: '1000' },
      ],
    });
  });

  it('feeds the time-weighted return (startValue = the value of the day before)', () => {
    // 02-29: X 10 × 55 + cash 500 = 1050.
    // r: 1060/1050, 1, 1, 1070/1060, 1284/(1070+200), 1284/1284, 1550/(1284+251)
    // = (1070/1050) × (1284/1270) × (1550/1535) − 1 = 0.0403491094557805681… → 0.0403491095
    const r = dailySnapshots(txs, closes, '2024-03-01', '2024-03-07');
    if (!r.ok) throw new Error(JSON.stringify(r.problem));
    expect(timeWeightedReturn(r.days, { startValue: '1050' }).cumulative).toBe('0.0403491095');
  });

  it('rounds the value HALF_UP to 8 places only at output, exact in between (a 3-for-1 split of a looked-back close)', () => {
    // W: 3 × 0.123456785 = 0.370370355 → 0.37037036 (HALF_UP)
    // Z: 1 share, 3-for-1 split on Sat 01-06; range from 01-06 looks back to Fri 01-05 (close 10):
    //    10 / 3 per new share × 3 shares = 10 (not 9.99999999…)
    const t = [
      tx(1, '2024-01-02', 'BUY', { symbol: 'W', quantity: '3', price: '1' }),
      tx(2, '2024-01-02', 'BUY', { symbol: 'Z', quantity: '1', price: '1' }),
      tx(3, '2024-01-06', 'SPLIT', { symbol: 'Z', quantity: '3' }),
    ];
    const c = (symbol: string, date: string) => (date !== '2024-01-05' ? null : symbol === 'W' ? '0.123456785' : '10');
    expect(dailySnapshots(t, c, '2024-01-06', '2024-01-06')).toMatchObject({ ok: true, days: [{ value: '10.37037036', cost: '4', cash: '0' }] });
  });

  it('returns the ledger problem of a transaction in the range', () => {
    const bad = [...txs, tx(9, '2024-03-04', 'SELL', { symbol: 'X', quantity: '21', price: '1' })];
    expect(dailySnapshots(bad, closes, '2024-03-01', '2024-03-07')).toEqual({
      ok: false,
      problem: { code: 'SELL_EXCEEDS_HOLDING', seq: 9, symbol: 'X', held: '20', sold: '21' },
    });
    expect(() => dailySnapshots(txs, closes, '2024-03-07', '2024-03-01')).toThrow(RangeError);
  });

  it('5 years × 10 positions in one pass: every day there, the last one checked against a direct computation', () => {
    const symbols = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'];
    const buys = symbols.map((s, k) => tx(k, '2020-01-01', 'BUY', { symbol: s, quantity: String(k + 1), price: '100', fee: '0.5' }));
    // A close for every weekday, a different one every day (a table, as a caller would load it)
    const table = new Map<string, string>();
    for (let t = Date.UTC(2020, 0, 1) / 864e5; t <= Date.UTC(2024, 11, 31) / 864e5; t++) {
      const d = new Date(t * 864e5);
      if (d.getUTCDay() % 6 !== 0) for (const s of symbols) table.set(`${s} ${d.toISOString().slice(0, 10)}`, `${100 + (t % 97)}.${s.charCodeAt(0)}`);
    }
    const close = (s: string, date: string) => table.get(`${s} ${date}`) ?? null;
    // (Its speed is measured by `npm run bench`, not here.)
    const r = dailySnapshots(buys, close, '2020-01-01', '2024-12-31');
    if (!r.ok) throw new Error(JSON.stringify(r.problem));
    expect(r.days).toHaveLength(1827);
    // 2024-12-31 is a Tuesday: Σ (k+1) × close; cash 0 (the buys were implicit deposits)
    const last = symbols.reduce((s, sym, k) => s.plus(new D(k + 1).times(close(sym, '2024-12-31')!)), new D(0));
    expect(r.days.at(-1)!.value).toBe(last.toString());
    // netFlows = Σ (k+1) × 100 + 10 × 0.5 = 5500 + 5
    expect(r.days.at(-1)!.netFlows).toBe('5505');
  });
});
