import { describe, expect, it } from 'vitest';
import { marketOf, marketSession, marketState, MarketStateCache } from '../../../src/assets/market-hours';

// Every instant is explicit UTC: the module reads New York time through Intl, whatever the machine's zone.
const at = (iso: string) => new Date(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const next = (market: 'us_equities' | 'fx' | 'crypto', when: string) => {
  const s = marketSession(market, at(when));
  return { state: s.state, next: iso(s.nextChange), then: s.nextState };
};

describe('market hours: asset types', () => {
  it('maps stocks, ETFs, funds and bonds to US equities, FOREX to fx, crypto (and unknown types) to crypto', () => {
    expect(['STOCK', 'ETF', 'FUND', 'BOND'].map(marketOf)).toEqual(['us_equities', 'us_equities', 'us_equities', 'us_equities']);
    expect(marketOf('FOREX')).toBe('fx');
    expect(marketOf('CRYPTO')).toBe('crypto');
    expect(marketOf(undefined)).toBe('crypto');
  });
});

describe('market hours: US equities (New York time, EST = UTC-5 in January)', () => {
  it.each([
    ['2026-01-13T08:59:59.999Z', 'closed'], // Tue 03:59:59 EST
    ['2026-01-13T09:00:00.000Z', 'pre'], // 04:00
    ['2026-01-13T14:29:59.999Z', 'pre'], // 09:29:59
    ['2026-01-13T14:30:00.000Z', 'open'], // 09:30
    ['2026-01-13T20:59:59.999Z', 'open'], // 15:59:59
    ['2026-01-13T21:00:00.000Z', 'post'], // 16:00
    ['2026-01-14T00:59:59.999Z', 'post'], // 19:59:59
    ['2026-01-14T01:00:00.000Z', 'closed'], // 20:00
    ['2026-01-17T17:00:00.000Z', 'closed'], // Saturday noon
    ['2026-01-18T15:00:00.000Z', 'closed'], // Sunday 10:00
    ['2026-01-19T15:00:00.000Z', 'closed'], // Martin Luther King Jr. Day, 10:00
    ['2026-11-26T15:00:00.000Z', 'closed'], // Thanksgiving (EST again), 10:00
    ['2026-04-03T14:00:00.000Z', 'closed'], // Good Friday 10:00 EDT
    ['2027-07-05T14:00:00.000Z', 'closed'], // Independence Day observed (Monday) 10:00 EDT
  ])('stocks at %s are %s', (when, state) => {
    expect(marketState('STOCK', at(when))).toBe(state);
    expect(marketState('ETF', at(when))).toBe(state);
    expect(marketState('FUND', at(when))).toBe(state);
  });

  it('gives the time of the next change: close, then post-market end, then the next pre-market', () => {
    expect(next('us_equities', '2026-01-13T15:00:00Z')).toEqual({ state: 'open', next: '2026-01-13T21:00:00.000Z', then: 'post' });
    expect(next('us_equities', '2026-01-13T21:00:00Z')).toEqual({ state: 'post', next: '2026-01-14T01:00:00.000Z', then: 'closed' });
    expect(next('us_equities', '2026-01-14T01:00:00Z')).toEqual({ state: 'closed', next: '2026-01-14T09:00:00.000Z', then: 'pre' });
    expect(next('us_equities', '2026-01-14T09:00:00Z')).toEqual({ state: 'pre', next: '2026-01-14T14:30:00.000Z', then: 'open' });
  });

  it('skips the weekend and a Monday holiday: Friday night to Tuesday 04:00', () => {
    expect(next('us_equities', '2026-01-17T01:00:00Z')).toEqual({ state: 'closed', next: '2026-01-20T09:00:00.000Z', then: 'pre' });
  });

  it('closes at 13:00 on an early-close day (the day after Thanksgiving), after-hours until 17:00', () => {
    expect(marketState('STOCK', at('2026-11-27T17:59:59Z'))).toBe('open');
    expect(next('us_equities', '2026-11-27T15:00:00Z')).toEqual({ state: 'open', next: '2026-11-27T18:00:00.000Z', then: 'post' });
    expect(next('us_equities', '2026-11-27T18:00:00Z')).toEqual({ state: 'post', next: '2026-11-27T22:00:00.000Z', then: 'closed' });
  });

  it('follows daylight saving time: the open moves from 14:30Z to 13:30Z across 8 March 2026', () => {
    expect(marketState('STOCK', at('2026-03-06T14:29:00Z'))).toBe('pre'); // Friday, EST
    expect(marketState('STOCK', at('2026-03-06T14:30:00Z'))).toBe('open');
    expect(marketState('STOCK', at('2026-03-09T13:29:00Z'))).toBe('pre'); // Monday, EDT
    expect(marketState('STOCK', at('2026-03-09T13:30:00Z'))).toBe('open');
    // On the switch day itself (Sunday 8 March), the next change is Monday 04:00 EDT.
    expect(next('us_equities', '2026-03-08T12:00:00Z')).toEqual({ state: 'closed', next: '2026-03-09T08:00:00.000Z', then: 'pre' });
  });

  it('follows the switch back on 1 November 2026: Friday closes at 20:00Z, Monday opens at 14:30Z', () => {
    expect(next('us_equities', '2026-10-30T19:00:00Z')).toEqual({ state: 'open', next: '2026-10-30T20:00:00.000Z', then: 'post' });
    expect(next('us_equities', '2026-10-31T12:00:00Z')).toEqual({ state: 'closed', next: '2026-11-02T09:00:00.000Z', then: 'pre' });
    expect(next('us_equities', '2026-11-02T09:00:00Z')).toEqual({ state: 'pre', next: '2026-11-02T14:30:00.000Z', then: 'open' });
  });
});

describe('market hours: FX (Sunday 17:00 to Friday 17:00 New York)', () => {
  it.each([
    ['2026-01-16T21:59:59.999Z', 'open'], // Friday 16:59:59 EST
    ['2026-01-16T22:00:00.000Z', 'closed'], // Friday 17:00
    ['2026-01-17T12:00:00.000Z', 'closed'], // Saturday
    ['2026-01-18T21:59:59.999Z', 'closed'], // Sunday 16:59:59
    ['2026-01-18T22:00:00.000Z', 'open'], // Sunday 17:00
    ['2026-01-21T03:00:00.000Z', 'open'], // Tuesday night
    ['2026-03-08T21:00:00.000Z', 'open'], // Sunday 17:00 EDT, on the DST switch day
    ['2026-03-08T20:59:59.000Z', 'closed'],
    ['2026-11-01T21:59:59.000Z', 'closed'], // Sunday 16:59:59 EST, on the switch back
    ['2026-11-01T22:00:00.000Z', 'open'],
  ])('FX at %s is %s', (when, state) => {
    expect(marketState('FOREX', at(when))).toBe(state);
  });

  it('gives Friday 17:00 as the next change during the week, and Sunday 17:00 over the weekend', () => {
    expect(next('fx', '2026-01-14T12:00:00Z')).toEqual({ state: 'open', next: '2026-01-16T22:00:00.000Z', then: 'closed' });
    expect(next('fx', '2026-01-16T22:00:00Z')).toEqual({ state: 'closed', next: '2026-01-18T22:00:00.000Z', then: 'open' });
    expect(next('fx', '2026-03-07T12:00:00Z')).toEqual({ state: 'closed', next: '2026-03-08T21:00:00.000Z', then: 'open' });
  });
});

describe('market hours: crypto', () => {
  it('is always open and never changes', () => {
    for (const when of ['2026-01-17T12:00:00Z', '2026-11-26T15:00:00Z', '2026-03-08T07:30:00Z', '2026-01-14T03:00:00Z']) {
      expect(marketState('CRYPTO', at(when))).toBe('open');
      expect(marketSession('crypto', at(when))).toEqual({ market: 'crypto', state: 'open', nextChange: null, nextState: null });
    }
  });
});

describe('MarketStateCache', () => {
  it('keeps a state until its next change, then recomputes (and when the clock goes back)', () => {
    const cache = new MarketStateCache();
    const t = (s: string) => at(s).getTime();
    const first = cache.session('us_equities', t('2026-01-13T15:00:00Z'));
    expect(cache.session('us_equities', t('2026-01-13T20:59:59.999Z'))).toBe(first);
    expect(cache.state('us_equities', t('2026-01-13T21:00:00Z'))).toBe('post');
    expect(cache.state('us_equities', t('2026-01-13T15:00:00Z'))).toBe('open');
    expect(cache.state('us_equities', t('2026-01-17T12:00:00Z'))).toBe('closed');
    expect(cache.state('crypto', t('2026-01-17T12:00:00Z'))).toBe('open');
  });
});
