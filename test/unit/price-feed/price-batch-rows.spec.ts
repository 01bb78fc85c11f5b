import { describe, expect, it } from 'vitest';
import { planRows } from '../../../src/price-feed/pipeline/price-batch.writer';
import type { ValidQuote } from '../../../src/price-feed/validation/quote-validator';

const q = (symbol: string, price: string, ms: number): ValidQuote => ({
  symbol,
  price,
  previous_close: null,
  high: null,
  low: null,
  volume: null,
  as_of: new Date(ms),
  source: 'test',
});

/** Which quotes a plan sends to the asset UPDATE (rows 1..updateEnd) and to price_history (rows after historyStart). */
const roles = (p: ReturnType<typeof planRows>) => ({
  update: p.rows.slice(0, p.updateEnd).map((r) => `${r.symbol}=${r.price}`),
  history: p.rows.slice(p.historyStart).map((r) => `${r.symbol}=${r.price}`),
});

describe('PriceBatchWriter row plan (planRows)', () => {
  it('one quote per symbol: the quotes themselves, each to the asset row and to history, in order', () => {
    const quotes = [q('B', '2', 1000), q('A', '1', 1000), q('C', '3', 500)];
    const p = planRows(quotes);
    expect(p.rows).toBe(quotes);
    expect(p).toMatchObject({ updateEnd: 3, historyStart: 0 });
    expect(p.order).toBeUndefined();
  });

  it('repeated symbols: every distinct tick to history (the first of equal times), the newest (the last of equal times) to the asset row', () => {
    const p = planRows([
      q('A', '1', 1000),
      q('B', '10', 1000),
      q('A', '2', 2000), // newer A: asset row and history
      q('A', '0.5', 500), // older A: history only
      q('B', '11', 1000), // same B tick again: the asset row takes it, history keeps the first
    ]);
    expect(roles(p)).toEqual({ update: ['B=11', 'A=2'], history: ['A=2', 'A=1', 'B=10', 'A=0.5'] });
    // Moved assets are returned in the order the symbols first appear.
    expect([...p.order!.entries()]).toEqual([
      ['A', 0],
      ['B', 1],
    ]);
  });
});
