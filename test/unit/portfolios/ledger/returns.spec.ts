import { describe, expect, it } from 'vitest';
import { replayLedger } from '../../../../src/portfolios/ledger/ledger';
import type { LedgerTransaction } from '../../../../src/portfolios/ledger/ledger.types';
import { timeWeightedReturn, unrealised, xirr, type DatedFlow } from '../../../../src/portfolios/ledger/returns';
import { D } from '../../../../src/common/decimal';

describe('timeWeightedReturn', () => {
  it('chain-links daily returns over 4 days with a mid-period deposit arriving at the start of day 3', () => {
    // day 1: flow 1000 (base 0 + 1000), value 1010         r1 = 1010 / 1000          − 1 = +0.01
    // day 2: no flow,                   value 1030.2       r2 = 1030.2 / 1010        − 1 = +0.02
    // day 3: deposit 500,               value 1514.898     r3 = 1514.898 / 1530.2    − 1 = −0.01
    // day 4: no flow,                   value 1545.19596   r4 = 1545.19596 / 1514.898 − 1 = +0.02
    // TWR = 1.01 × 1.02 × 0.99 × 1.02 − 1 = 1.04029596 − 1 = 0.04029596
    // (the simple gain (1545.19596 − 1500) / 1500 = 0.0301 would be distorted by the deposit)
    const r = timeWeightedReturn([
      { date: '2024-01-01', value: '1010', flow: '1000' },
      { date: '2024-01-02', value: '1030.2', flow: '0' },
      { date: '2024-01-03', value: '1514.898', flow: '500' },
      { date: '2024-01-04', value: '1545.19596', flow: '0' },
    ]);
    expect(r).toEqual({ cumulative: '0.04029596', annualised: null, days: 4 });
  });

  it('sorts the days and skips days with a zero base (before the first deposit, after a full withdrawal)', () => {
    // d1: nothing invested (base 0) skipped; d2: 110 / 100 = 1.1; d3: withdraw all, base 110 − 110 = 0 skipped;
    // d4: 210 / (0 + 200) = 1.05  →  1.1 × 1.05 − 1 = 0.155
    const r = timeWeightedReturn([
      { date: '2024-01-04', value: '210', flow: '200' },
      { date: '2024-01-01', value: '0', flow: '0' },
      { date: '2024-01-03', value: '0', flow: '-110' },
      { date: '2024-01-02', value: '110', flow: '100' },
    ]);
    expect(r.cumulative).toBe('0.155');
    expect(r.days).toBe(3); // 2024-01-02 .. 2024-01-04
  });

  it('uses startValue as the value before the first day', () => {
    // base 1000 + 0 → 1050 / 1000 − 1 = 0.05; then 1102.5 / 1050 − 1 = 0.05  →  1.05² − 1 = 0.1025
    const r = timeWeightedReturn(
      [
        { date: '2024-01-02', value: '1050', flow: '0' },
        { date: '2024-01-03', value: '1102.5', flow: '0' },
      ],
      { startValue: '1000' },
    );
    expect(r.cumulative).toBe('0.1025');
  });

  it('annualises over a year or more: +21 % over 730 days is +10 % a year', () => {
    // 2023-01-01 .. 2024-12-30 is 730 days (start of the first day to the end of the last):
    // growth 1000/1000 × 1210/1000 = 1.21; 1.21^(365/730) − 1 = 0.1
    const r = timeWeightedReturn([
      { date: '2023-01-01', value: '1000', flow: '1000' },
      { date: '2024-12-30', value: '1210', flow: '0' },
    ]);
    expect(r).toEqual({ cumulative: '0.21', annualised: '0.1', days: 730 });
  });

  it('is "0" with nothing invested', () => {
    expect(timeWeightedReturn([{ date: '2024-01-01', value: '0', flow: '0' }])).toEqual({ cumulative: '0', annualised: null, days: 0 });
    expect(timeWeightedReturn([])).toEqual({ cumulative: '0', annualised: null, days: 0 });
  });
});

/** Independent check: plain floating-point bisection of Σ a / (1 + r)^(days / 365) on (lo, hi). */
function floatXirr(flows: DatedFlow[], lo = -0.99, hi = 10): number {
  const t0 = Date.parse(flows[0].date);
  const npv = (r: number) => flows.reduce((s, f) => s + Number(f.amount) / Math.pow(1 + r, (Date.parse(f.date) - t0) / 864e5 / 365), 0);
  const sLo = Math.sign(npv(lo));
  for (let i = 0; i < 200; i++) {
    const m = (lo + hi) / 2;
    if (Math.sign(npv(m)) === sLo) lo = m;
    else hi = m;
  }
  return (lo + hi) / 2;
}

describe('xirr', () => {
  it('−1000 then +1100 exactly 365 days later is 10 %', () => {
    expect(
      xirr([
        { date: '2023-01-01', amount: '-1000' },
        { date: '2024-01-01', amount: '1100' },
      ]),
    ).toBe('0.1');
  });

  it('over the 366 days of 2024 (Act/365) it is 1.1^(365/366) − 1 = 0.0997135859…', () => {
    const r = xirr([
      { date: '2024-01-01', amount: '-1000' },
      { date: '2025-01-01', amount: '1100' },
    ]);
    expect(r).toBe('0.0997135859'); // 0.09971358593414124… (50-digit bisection), rounded to 10 places
    expect(Math.abs(Number(r) - (Math.pow(1.1, 365 / 366) - 1))).toBeLessThan(1e-9);
  });

  // Excel's XIRR example: 37.34 %; 0.373362533518831510… by a 50-digit bisection (Python decimal).
  const excel: DatedFlow[] = [
    { date: '2008-01-01', amount: '-10000' },
    { date: '2008-03-01', amount: '2750' },
    { date: '2008-10-30', amount: '4250' },
    { date: '2009-02-15', amount: '3250' },
    { date: '2009-04-01', amount: '2750' },
  ];

  it("matches Excel's textbook example to 1e-6 (and a float bisection)", () => {
    const r = Number(xirr(excel));
    expect(Math.abs(r - 0.3733625335188315)).toBeLessThan(1e-6);
    expect(Math.abs(r - floatXirr(excel))).toBeLessThan(1e-6);
  });

  it('a multi-flow case with deposits, a withdrawal and the final value', () => {
    // 0.0754219379373956… by a 50-digit bisection (Python decimal)
    const flows: DatedFlow[] = [
      { date: '2021-01-01', amount: '-5000' },
      { date: '2021-07-15', amount: '-2500' },
      { date: '2022-03-10', amount: '1200' },
      { date: '2022-11-30', amount: '-1000' },
      { date: '2023-06-30', amount: '8600' },
    ];
    const r = Number(xirr(flows));
    expect(Math.abs(r - 0.0754219379373956)).toBeLessThan(1e-6);
    expect(Math.abs(r - floatXirr(flows))).toBeLessThan(1e-6);
  });

  it('sums flows of the same day and ignores input order', () => {
    expect(
      xirr([
        { date: '2024-01-01', amount: '1100' },
        { date: '2023-01-01', amount: '-600' },
        { date: '2023-01-01', amount: '-400' },
      ]),
    ).toBe('0.1');
  });

  it('the bisection fallback finds the same rate when Newton is given no room (1 iteration)', () => {
    expect(Math.abs(Number(xirr(excel, { maxIterations: 1 })) - 0.3733625335188315)).toBeLessThan(1e-9);
  });

  it('losses and very large gains', () => {
    // −1000 → +100 a year later: 100/1000 − 1 = −0.9; −1 → +1000000: 999999
    expect(
      xirr([
        { date: '2023-01-01', amount: '-1000' },
        { date: '2024-01-01', amount: '100' },
      ]),
    ).toBe('-0.9');
    expect(
      xirr([
        { date: '2023-01-01', amount: '-1' },
        { date: '2024-01-01', amount: '1000000' },
      ]),
    ).toBe('999999');
  });

  it('null without a sign change, with a single day, or without a real root', () => {
    expect(
      xirr([
        { date: '2023-01-01', amount: '-1000' },
        { date: '2024-01-01', amount: '-100' },
      ]),
    ).toBeNull();
    expect(xirr([{ date: '2023-01-01', amount: '1000' }])).toBeNull();
    expect(xirr([])).toBeNull();
    expect(
      xirr([
        { date: '2023-01-01', amount: '-1000' },
        { date: '2023-01-01', amount: '1000' },
      ]),
    ).toBeNull();
    // +100, −250, +160 a year apart each: 100 − 250x + 160x² (x = 1/(1+r)) has discriminant 250² − 4·100·160 = −1500 < 0
    expect(
      xirr([
        { date: '2021-01-01', amount: '100' },
        { date: '2022-01-01', amount: '-250' },
        { date: '2023-01-01', amount: '160' },
      ]),
    ).toBeNull();
  });
});

describe('unrealised', () => {
  const holdings = [
    { symbol: 'A', quantity: '10', cost: '1005' },
    { symbol: 'B', quantity: '3', cost: '300' },
  ];

  it('market value − cost per holding and in total; a holding without price is valued at cost', () => {
    // A: 10 × 120.5 = 1205, − 1005 = 200, 200 / 1005 = 0.19900497512… → 0.1990049751
    // B: no price → 300, 0, 0
    // total: 1505 − 1305 = 200, 200 / 1305 = 0.153256704980… → 0.153256705
    expect(unrealised(holdings, { A: '120.5' })).toEqual({
      holdings: [
        { symbol: 'A', quantity: '10', price: '120.5', marketValue: '1205', cost: '1005', unrealised: '200', unrealisedReturn: '0.1990049751' },
        { symbol: 'B', quantity: '3', price: null, marketValue: '300', cost: '300', unrealised: '0', unrealisedReturn: '0' },
      ],
      marketValue: '1505',
      cost: '1305',
      unrealised: '200',
      unrealisedReturn: '0.153256705',
      unpriced: ['B'],
    });
  });

  it('takes a lookup function; a loss is negative', () => {
    // B: 3 × 90.1 = 270.3 − 300 = −29.7, −29.7 / 300 = −0.099
    const r = unrealised([holdings[1]], (s) => (s === 'B' ? '90.1' : null));
    expect(r.holdings[0]).toMatchObject({ marketValue: '270.3', unrealised: '-29.7', unrealisedReturn: '-0.099' });
  });

  it('closes the books: value − netFlows = unrealised + realised + dividends − fees', () => {
    // A ledger with everything: deposits, buys with fees, a split, a sale, a dividend with a fee, a fee, a withdrawal, an implicit deposit.
    const t = (seq: number, type: LedgerTransaction['type'], f: Partial<LedgerTransaction>): LedgerTransaction => ({
      seq,
      type,
      symbol: null,
      quantity: null,
      price: null,
      fee: '0',
      currency: 'USD',
      date: `2024-01-${String(seq).padStart(2, '0')}`,
      ...f,
    });
    const r = replayLedger(
      [
        t(1, 'DEPOSIT', { price: '1000' }),
        t(2, 'BUY', { symbol: 'A', quantity: '7', price: '101.37', fee: '4.99' }),
        t(3, 'BUY', { symbol: 'B', quantity: '12', price: '33.3', fee: '1' }),
        t(4, 'SPLIT', { symbol: 'A', quantity: '3' }),
        t(5, 'SELL', { symbol: 'A', quantity: '8', price: '36.1', fee: '2.5' }),
        t(6, 'DIVIDEND', { symbol: 'B', quantity: '12', price: '0.41', fee: '0.3' }),
        t(7, 'FEE', { price: '7.77' }),
        t(8, 'WITHDRAWAL', { price: '50' }),
        t(9, 'BUY', { symbol: 'C', quantity: '1', price: '999' }),
      ],
      { today: '2024-12-31' },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problem));
    const u = unrealised(r.result.holdings, { A: '37.01', B: '29.9', C: '1010.5' });
    const value = new D(u.marketValue).plus(r.result.cash);
    const lhs = value.minus(r.result.netFlows);
    const rhs = new D(u.unrealised).plus(r.result.realisedTotal).plus(r.result.dividends).minus(r.result.fees);
    expect(lhs.minus(rhs).abs().lte('0.00000002')).toBe(true); // exact up to the 8-place rounding of each figure
    expect(r.result.cash).toBe('0'); // the last buy took all the cash and more
  });
});
