import { describe, expect, it } from 'vitest';
import { formatSseCursor, MAX_CURSOR_LENGTH, parseSseCursor, parseSseQuery } from '../../../src/realtime/transports/sse-request';

const query = (q: string) => parseSseQuery(new URLSearchParams(q), 50);

describe('parseSseQuery (GET /realtime/sse)', () => {
  it('reads comma lists, trimmed, upper-cased, without duplicates or empty items; both optional', () => {
    expect(query('symbols=aapl, MSFT,,brk.b,AAPL&portfolios=3,4,3')).toEqual({
      ok: true,
      query: { symbols: ['AAPL', 'MSFT', 'BRK.B'], portfolios: [3, 4], lastEventId: null },
    });
    expect(query('symbols=A&symbols=B,C')).toMatchObject({ ok: true, query: { symbols: ['A', 'B', 'C'] } });
    expect(query('')).toEqual({ ok: true, query: { symbols: [], portfolios: [], lastEventId: null } });
    expect(query('last_event_id=AAPL:3&_=123')).toMatchObject({ ok: true, query: { lastEventId: 'AAPL:3' } });
  });

  it.each([
    ['a bad symbol', 'symbols=AA$PL', /symbols: each symbol/],
    ['a symbol too long', `symbols=${'A'.repeat(33)}`, /symbols: each symbol/],
    ['more than 100 symbols', `symbols=${Array.from({ length: 101 }, (_, i) => `S${i}`).join(',')}`, /at most 100 symbols/],
    ['a portfolio id that is not a positive integer', 'portfolios=0', /portfolios: each portfolio id/],
    ['a portfolio id too large', 'portfolios=2147483648', /portfolios: each portfolio id/],
    ['a fractional portfolio id', 'portfolios=1.5', /portfolios: each portfolio id/],
    [
      'more topics than MAX_SUBSCRIPTIONS_PER_CONNECTION',
      `symbols=${Array.from({ length: 49 }, (_, i) => `S${i}`).join(',')}&portfolios=1,2`,
      /at most 50 subscriptions/,
    ],
  ])('refuses %s', (_what, q, problem) => {
    const r = query(q);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems.join('\n')).toMatch(problem);
  });
});

describe('the SSE resume cursor (event id / Last-Event-ID)', () => {
  it('round-trips', () => {
    const entries: [string, number][] = [
      ['AAPL', 123],
      ['BTC-USD', 0],
      ['EURUSD=X', Number.MAX_SAFE_INTEGER],
      ['BRK.B', 7],
    ];
    const id = formatSseCursor(entries);
    expect(id).toBe(`AAPL:123,BTC-USD:0,EURUSD=X:${Number.MAX_SAFE_INTEGER},BRK.B:7`);
    expect([...parseSseCursor(id, 50)!]).toEqual(entries);
    expect(parseSseCursor(` ${id} `, 50)?.size).toBe(4);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['not a cursor', 'garbage'],
    ['a lower-case symbol', 'aapl:1'],
    ['no seq', 'AAPL:'],
    ['a negative seq', 'AAPL:-1'],
    ['a leading zero', 'AAPL:01'],
    ['an unsafe integer', 'AAPL:9007199254740993'],
    ['two colons', 'AAPL:1:2'],
    ['a symbol twice', 'AAPL:1,AAPL:2'],
    ['an empty entry', 'AAPL:1,'],
    ['a repeated header', ['AAPL:1', 'MSFT:2']],
    ['too many entries', Array.from({ length: 51 }, (_, i) => `S${i}:1`).join(',')],
    ['too long', `AAPL:1,${'B'.repeat(MAX_CURSOR_LENGTH)}:1`],
  ])('is ignored when %s', (_what, raw) => {
    expect(parseSseCursor(raw as string | string[] | undefined, 50)).toBeNull();
  });
});
