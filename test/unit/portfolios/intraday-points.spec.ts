import { describe, expect, it } from 'vitest';
import { intervalStart, planIntradayPoints, pointValue, type ValuedPortfolio } from '../../../src/portfolios/intraday/intraday-points';

const v = (portfolio_id: number, total_value: string, owner_id = 1): ValuedPortfolio => ({ portfolio_id, owner_id, total_value });

describe('intraday series: which portfolios get a point ("only while the value moves")', () => {
  it('a portfolio without a recorded point gets one; an unchanged one gets none; a moved one gets its new value', () => {
    const first = planIntradayPoints([v(2, '100'), v(1, '50', 7)], new Map());
    expect(first.points).toEqual([
      { portfolioId: 1, ownerId: 7, value: '50' },
      { portfolioId: 2, ownerId: 1, value: '100' },
    ]);
    expect([...first.next]).toEqual([
      [2, '100'],
      [1, '50'],
    ]);

    const second = planIntradayPoints([v(1, '50', 7), v(2, '100.25')], first.next);
    expect(second.points).toEqual([{ portfolioId: 2, ownerId: 1, value: '100.25' }]);

    const third = planIntradayPoints([v(1, '50', 7), v(2, '100.25')], second.next);
    expect(third.points).toEqual([]);
    expect([...third.next]).toEqual([...second.next]);
  });

  it('compares in the stored form: trailing zeros and digits past the 8th decimal that round away are no move', () => {
    const last = new Map([[1, '103.425']]);
    expect(planIntradayPoints([v(1, '103.4250000000000000')], last).points).toEqual([]);
    expect(planIntradayPoints([v(1, '103.4250000049')], last).points).toEqual([]);
    // Half a unit of the 8th decimal rounds away from zero, as numeric(24,8) does: that is a move.
    expect(planIntradayPoints([v(1, '103.425000005')], last).points).toEqual([{ portfolioId: 1, ownerId: 1, value: '103.42500001' }]);
  });

  it('does not change the last values it was given (a failed write is planned again), and forgets portfolios no longer valued', () => {
    const last = new Map([
      [1, '10'],
      [9, '99'],
    ]);
    const plan = planIntradayPoints([v(1, '11')], last);
    expect(plan.points).toEqual([{ portfolioId: 1, ownerId: 1, value: '11' }]);
    expect([...last]).toEqual([
      [1, '10'],
      [9, '99'],
    ]);
    expect([...plan.next]).toEqual([[1, '11']]);
    // Planned again from the old values: the same point.
    expect(planIntradayPoints([v(1, '11')], last).points).toEqual(plan.points);
  });

  it('a value too large for numeric(24,8) is left out (reported), without holding up the others', () => {
    const plan = planIntradayPoints([v(1, '1' + '0'.repeat(16)), v(2, '9999999999999999.99999999'), v(3, '5')], new Map());
    expect(plan.tooLarge).toEqual([1]);
    expect(plan.points.map((p) => p.portfolioId)).toEqual([2, 3]);
    expect(plan.next.has(1)).toBe(false);
  });
});

describe('intraday series: stored values and intervals', () => {
  it('pointValue: 8 decimals at most, rounded half away from zero, no trailing zeros', () => {
    expect(pointValue('1234.5000000000000000')).toBe('1234.5');
    expect(pointValue('0')).toBe('0');
    expect(pointValue('0.000000004999')).toBe('0');
    expect(pointValue('0.000000005')).toBe('0.00000001');
    expect(pointValue('-2.125000005')).toBe('-2.12500001');
    expect(pointValue('1e21')).toBeNull();
  });

  it('intervalStart: the multiple of the interval nearest to the time (a timer firing on time or a little early)', () => {
    const minute = 60_000;
    const t = Date.UTC(2026, 0, 15, 10, 30, 0, 0);
    expect(intervalStart(t, minute)).toBe(t);
    expect(intervalStart(t + 3, minute)).toBe(t);
    expect(intervalStart(t - 2, minute)).toBe(t);
    expect(intervalStart(t + 29_999, minute)).toBe(t);
    expect(intervalStart(t + 30_001, minute)).toBe(t + minute);
    expect(intervalStart(t + 201, 200)).toBe(t + 200);
  });
});
