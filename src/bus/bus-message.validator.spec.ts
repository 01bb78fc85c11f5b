import { describe, expect, it } from 'vitest';
import { SYMBOL_PATTERN } from '../assets/catalog/catalog';
import { BUS_FUTURE_TOLERANCE_MS, BUS_TOPICS, checkBusMessage, checkTick, MAX_FEED_STATUS_SYMBOLS, MAX_TICKS_PER_MESSAGE } from './bus-message.validator';
import type { PriceTick } from './bus.messages';
import { FUTURE_TOLERANCE_MS } from '../price-feed/validation/quote-validator';

const NOW = Date.parse('2026-03-02T15:00:00.000Z');

const tick = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  symbol: 'AAPL',
  price: '189.98',
  previous_close: '187.5',
  high: '190.1',
  low: '186.25',
  volume: '48794366',
  as_of: new Date(NOW - 1_000).toISOString(),
  source: 'simulated',
  ...extra,
});

const reason = (t: unknown) => {
  const r = checkTick(t, NOW);
  return r.ok ? 'ok' : r.reason;
};

describe('checkTick', () => {
  it('accepts what the batch writer publishes, and rebuilds it from the checked fields only', () => {
    // As JSON.parse gives it: extra fields, an own "__proto__" key.
    const r = checkTick(JSON.parse(JSON.stringify(tick()).replace(/}$/, `,"extra":"${'x'.repeat(1000)}","__proto__":{"polluted":true}}`)), NOW);
    expect(r).toEqual({ ok: true, tick: tick() });
    if (r.ok) expect(Object.keys(r.tick).sort()).toEqual(['as_of', 'high', 'low', 'previous_close', 'price', 'source', 'symbol', 'volume']);
    for (const t of [
      tick({ previous_close: null, high: null, low: null, volume: null }),
      tick({ previous_close: undefined, high: undefined, low: undefined, volume: undefined }),
      tick({ price: '0.00000001', volume: '0' }),
      tick({ price: '9999999999999999.99999999', volume: '99999999999999999999.99999999' }),
      tick({ symbol: 'BTC-USD' }),
      tick({ symbol: 'EURUSD=X' }),
      tick({ symbol: 'BRK.B' }),
      tick({ as_of: new Date(NOW + BUS_FUTURE_TOLERANCE_MS).toISOString() }),
      tick({ as_of: '2026-03-02T16:00:00+01:00' }),
      tick({ as_of: '1999-01-01T00:00:00Z' }),
    ]) {
      expect(reason(t), JSON.stringify(t)).toBe('ok');
    }
    const r2 = checkTick(tick({ previous_close: undefined }), NOW);
    expect(r2.ok && r2.tick.previous_close).toBe(null);
  });

  it('follows the quote validator: finite, positive, storable decimal strings', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ price: '-5' }, 'not_positive'],
      [{ price: '0' }, 'not_positive'],
      [{ price: '0.00000000' }, 'not_positive'],
      [{ price: '-0.01' }, 'not_positive'],
      [{ previous_close: '0' }, 'not_positive'],
      [{ high: '-1' }, 'not_positive'],
      [{ low: '0' }, 'not_positive'],
      [{ volume: '-1' }, 'not_positive'],
      [{ price: 'NaN' }, 'not_finite'],
      [{ price: 'Infinity' }, 'not_finite'],
      [{ price: '-Infinity' }, 'not_finite'],
      [{ high: 'nan' }, 'not_finite'],
      [{ price: '10000000000000000' }, 'out_of_range'],
      [{ price: '1e400' }, 'out_of_range'],
      [{ price: '1.123456789' }, 'out_of_range'],
      [{ volume: '100000000000000000000' }, 'out_of_range'],
      [{ price: '1e2' }, 'malformed'],
      [{ price: ' 189.98' }, 'malformed'],
      [{ price: '+189.98' }, 'malformed'],
      [{ price: '0189.98' }, 'malformed'],
      [{ price: '189.98abc' }, 'malformed'],
      [{ price: '' }, 'malformed'],
      [{ price: 189.98 }, 'malformed'],
      [{ price: null }, 'malformed'],
      [{ price: undefined }, 'malformed'],
      [{ price: ['1'] }, 'malformed'],
      [{ volume: 5 }, 'malformed'],
      [{ source: '' }, 'malformed'],
      [{ source: 'x'.repeat(51) }, 'malformed'],
      [{ source: 'bad\nsource' }, 'malformed'],
      [{ source: 7 }, 'malformed'],
      [{ symbol: 'aapl' }, 'bad_symbol'],
      [{ symbol: '' }, 'bad_symbol'],
      [{ symbol: 'A'.repeat(33) }, 'bad_symbol'],
      [{ symbol: '<script>' }, 'bad_symbol'],
      [{ symbol: 42 }, 'malformed'],
      [{ as_of: new Date(NOW + BUS_FUTURE_TOLERANCE_MS + 1).toISOString() }, 'future_timestamp'],
      [{ as_of: '2999-01-01T00:00:00.000Z' }, 'future_timestamp'],
      [{ as_of: 'yesterday' }, 'bad_timestamp'],
      [{ as_of: '2026-03-02' }, 'bad_timestamp'],
      [{ as_of: '2026-13-45T99:00:00Z' }, 'bad_timestamp'],
      [{ as_of: '1960-01-01T00:00:00Z' }, 'bad_timestamp'],
      [{ as_of: NOW }, 'bad_timestamp'],
      [{ as_of: null }, 'bad_timestamp'],
    ];
    for (const [extra, want] of cases) expect(reason(tick(extra)), JSON.stringify(extra)).toBe(want);
    for (const t of [null, undefined, 'AAPL', 42, [], [tick()], true]) expect(reason(t)).toBe('malformed');
  });

  it("uses the catalog symbol syntax and a future tolerance above the feed's own", () => {
    for (const s of ['AAPL', 'BTC-USD', 'EURUSD=X', 'BRK.B', 'aapl', '-X', 'A B']) expect(reason(tick({ symbol: s })) === 'ok', s).toBe(SYMBOL_PATTERN.test(s));
    expect(BUS_FUTURE_TOLERANCE_MS).toBeGreaterThan(FUTURE_TOLERANCE_MS);
    expect(BUS_FUTURE_TOLERANCE_MS).toBeLessThanOrEqual(60_000);
  });
});

describe('checkBusMessage', () => {
  const batch = (ticks: unknown[], extra: Record<string, unknown> = {}) => ({ ticks, published_at: NOW, origin: 'feed:host:1', ...extra });

  it('prices.committed: delivers the valid ticks, takes the bad ones out, drops a batch with none left', () => {
    const ok = checkBusMessage('prices.committed', batch([tick(), tick({ symbol: 'MSFT' })]), NOW);
    expect(ok).toEqual({ ok: true, message: batch([tick(), tick({ symbol: 'MSFT' })]) });

    const mixed = checkBusMessage('prices.committed', batch([tick({ price: '-5' }), tick({ symbol: 'MSFT' }), tick({ as_of: '2999-01-01T00:00:00Z' })]), NOW);
    expect(mixed.ok).toBe(true);
    if (mixed.ok) expect(mixed.message.ticks.map((t: PriceTick) => t.symbol)).toEqual(['MSFT']);
    expect(mixed.droppedTicks).toEqual(['not_positive', 'future_timestamp']);

    const none = checkBusMessage('prices.committed', batch([tick({ symbol: 'GOOGL', price: '-5' }), tick({ price: 'NaN' })]), NOW);
    expect(none).toEqual({ ok: false, reason: 'not_positive', droppedTicks: ['not_positive', 'not_finite'] });

    expect(checkBusMessage('prices.committed', batch([]), NOW)).toEqual({ ok: true, message: batch([]) });
  });

  it('prices.committed: drops wrong shapes and oversized batches', () => {
    const cases: [unknown, string][] = [
      [null, 'invalid'],
      ['x', 'invalid'],
      [[], 'invalid'],
      [{}, 'invalid'],
      [{ ticks: 'AAPL', published_at: NOW, origin: 'x' }, 'invalid'],
      [batch([tick()], { published_at: 'now' }), 'invalid'],
      [batch([tick()], { published_at: Number.NaN }), 'invalid'],
      [batch([tick()], { published_at: -1 }), 'invalid'],
      [batch([tick()], { origin: 7 }), 'invalid'],
      [batch([tick()], { origin: 'o'.repeat(300) }), 'invalid'],
      [batch(new Array(MAX_TICKS_PER_MESSAGE + 1).fill(0)), 'too_many_ticks'],
    ];
    for (const [v, want] of cases) {
      const r = checkBusMessage('prices.committed', v, NOW);
      expect(r.ok ? 'ok' : r.reason, JSON.stringify(v).slice(0, 80)).toBe(want);
    }
  });

  it('portfolio.changed and session.ended: exact types, nothing else kept', () => {
    expect(checkBusMessage('portfolio.changed', { portfolio_id: 3, owner_id: 7, extra: 1 })).toEqual({ ok: true, message: { portfolio_id: 3, owner_id: 7 } });
    expect(checkBusMessage('portfolio.changed', { portfolio_id: 3, owner_id: 7, deleted: true })).toEqual({
      ok: true,
      message: { portfolio_id: 3, owner_id: 7, deleted: true },
    });
    expect(checkBusMessage('portfolio.changed', { portfolio_id: 3, owner_id: 7, deleted: false })).toEqual({
      ok: true,
      message: { portfolio_id: 3, owner_id: 7 },
    });
    for (const v of [
      null,
      [],
      'x',
      {},
      { portfolio_id: '3', owner_id: 7 },
      { portfolio_id: 3 },
      { portfolio_id: 0, owner_id: 7 },
      { portfolio_id: -1, owner_id: 7 },
      { portfolio_id: 1.5, owner_id: 7 },
      { portfolio_id: 2 ** 31, owner_id: 7 },
      { portfolio_id: 3, owner_id: 7, deleted: 'yes' },
    ]) {
      expect(checkBusMessage('portfolio.changed', v), JSON.stringify(v)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(checkBusMessage('session.ended', { session_id: 'Xy_-12', user_id: 4, extra: 1 })).toEqual({
      ok: true,
      message: { session_id: 'Xy_-12', user_id: 4 },
    });
    for (const v of [
      null,
      'x',
      {},
      { session_id: 5, user_id: 4 },
      { session_id: '', user_id: 4 },
      { session_id: 's'.repeat(300), user_id: 4 },
      { session_id: 'a\nb', user_id: 4 },
      { session_id: 'abc', user_id: '4' },
      { session_id: 'abc' },
    ]) {
      expect(checkBusMessage('session.ended', v), JSON.stringify(v)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('checks a 5000-tick batch quickly (the fan-out path)', () => {
    const ticks = Array.from({ length: 5000 }, (_, i) => tick({ symbol: `S${i}`, price: `${100 + (i % 50)}.${String(i % 100).padStart(2, '0')}` }));
    const started = performance.now();
    const r = checkBusMessage('prices.committed', batch(ticks), NOW);
    const ms = performance.now() - started;
    expect(r.ok && r.message.ticks.length).toBe(5000);
    expect(ms).toBeLessThan(500); // typically a few ms
  });
});

describe('checkBusMessage: feed.status', () => {
  const status = (quiet: unknown[], extra: Record<string, unknown> = {}) => ({ quiet, at: NOW, origin: 'feed:host:1', ...extra });
  const down = (extra: Record<string, unknown> = {}) => ({
    symbols: ['AAPL', 'MSFT'],
    reason: 'vendor_unavailable',
    vendor: 'yahoo',
    since: NOW - 5_000,
    ...extra,
  });
  const stale = (extra: Record<string, unknown> = {}) => ({ symbols: ['VFIAX'], reason: 'no_quotes', vendor: null, since: NOW - 90_000, ...extra });
  const reasonOf = (v: unknown) => {
    const r = checkBusMessage('feed.status', v, NOW);
    return r.ok ? 'ok' : r.reason;
  };

  it('is a bus topic', () => {
    expect(BUS_TOPICS).toContain('feed.status');
  });

  it('accepts what the feed publishes (an empty set too), rebuilt from the checked fields only', () => {
    expect(checkBusMessage('feed.status', status([down(), stale()]), NOW)).toEqual({ ok: true, message: status([down(), stale()]) });
    expect(checkBusMessage('feed.status', status([]), NOW)).toEqual({ ok: true, message: status([]) });
    const extra = checkBusMessage('feed.status', JSON.parse(JSON.stringify({ ...status([{ ...down(), extra: 1 }]), extra: 'x' })), NOW);
    expect(extra).toEqual({ ok: true, message: status([down()]) });
    if (extra.ok) {
      expect(Object.keys(extra.message).sort()).toEqual(['at', 'origin', 'quiet']);
      expect(Object.keys(extra.message.quiet[0]).sort()).toEqual(['reason', 'since', 'symbols', 'vendor']);
    }
    for (const v of [
      status([down({ vendor: 'alphavantage' })]),
      status([down({ vendor: 'my-vendor_2' })]),
      status([stale({ symbols: ['BTC-USD', 'EURUSD=X', 'BRK.B'] })]),
      status([down({ since: 0 })], { at: NOW + BUS_FUTURE_TOLERANCE_MS }),
      status([stale({ vendor: 'yahoo' })]), // a vendor named for no_quotes is allowed (null is what the feed sends)
    ]) {
      expect(reasonOf(v), JSON.stringify(v)).toBe('ok');
    }
  });

  it('drops wrong shapes, unknown reasons, bad vendor names, repeated symbols and impossible times', () => {
    const cases: [unknown, string][] = [
      [null, 'invalid'],
      ['x', 'invalid'],
      [[], 'invalid'],
      [{}, 'invalid'],
      [{ quiet: 'AAPL', at: NOW, origin: 'x' }, 'invalid'],
      [status([], { at: 'now' }), 'invalid'],
      [status([], { at: Number.NaN }), 'invalid'],
      [status([], { at: -1 }), 'invalid'],
      [status([], { at: 1e300 }), 'future_timestamp'],
      [status([], { at: NOW + BUS_FUTURE_TOLERANCE_MS + 1 }), 'future_timestamp'],
      [status([], { origin: 7 }), 'invalid'],
      [status([], { origin: 'o'.repeat(300) }), 'invalid'],
      [status([null]), 'invalid'],
      [status(['AAPL']), 'invalid'],
      [status([down({ symbols: 'AAPL' })]), 'invalid'],
      [status([down({ symbols: [] })]), 'invalid'],
      [status([down({ symbols: [42] })]), 'invalid'],
      [status([down({ symbols: ['aapl'] })]), 'bad_symbol'],
      [status([down({ symbols: ['<script>'] })]), 'bad_symbol'],
      [status([down({ symbols: ['A'.repeat(33)] })]), 'bad_symbol'],
      [status([down({ symbols: ['AAPL', 'AAPL'] })]), 'invalid'],
      [status([down(), stale({ symbols: ['MSFT'] })]), 'invalid'],
      [status([down({ reason: 'market_closed' })]), 'invalid'],
      [status([down({ reason: 'vendor_recovered' })]), 'invalid'],
      [status([down({ reason: undefined })]), 'invalid'],
      [status([down({ vendor: null })]), 'invalid'], // vendor_unavailable names its vendor
      [status([down({ vendor: '' })]), 'invalid'],
      [status([down({ vendor: 'Yahoo' })]), 'invalid'],
      [status([down({ vendor: 'yahoo\nINFO forged log line' })]), 'invalid'],
      [status([down({ vendor: 'v'.repeat(51) })]), 'invalid'],
      [status([down({ vendor: 7 })]), 'invalid'],
      [status([down({ since: 'yesterday' })]), 'invalid'],
      [status([down({ since: -5 })]), 'invalid'],
      [status([down({ since: Number.POSITIVE_INFINITY })]), 'invalid'],
      [status([down({ since: 8.64e15 + 1 })]), 'future_timestamp'],
      [status([down({ since: undefined })]), 'invalid'],
    ];
    for (const [v, want] of cases) expect(reasonOf(v), JSON.stringify(v)?.slice(0, 120)).toBe(want);
  });

  it('holds at most MAX_FEED_STATUS_SYMBOLS symbols, over all groups', () => {
    const symbols = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    expect(MAX_FEED_STATUS_SYMBOLS).toBe(MAX_TICKS_PER_MESSAGE);
    const half = MAX_FEED_STATUS_SYMBOLS / 2;
    expect(reasonOf(status([down({ symbols: symbols(half, 'A') }), stale({ symbols: symbols(half, 'B') })]))).toBe('ok');
    expect(reasonOf(status([down({ symbols: symbols(half, 'A') }), stale({ symbols: symbols(half + 1, 'B') })]))).toBe('too_many_ticks');
    expect(reasonOf(status(new Array(MAX_FEED_STATUS_SYMBOLS + 1).fill(0)))).toBe('too_many_ticks');
  });
});
