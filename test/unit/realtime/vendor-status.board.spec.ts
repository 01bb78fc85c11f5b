import { describe, expect, it } from 'vitest';
import type { FeedQuietGroup } from '../../../src/bus/bus.messages';
import { VendorStatusBoard } from '../../../src/realtime/hub/vendor-status.board';

const T0 = Date.parse('2026-01-15T10:29:31.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const msg = (quiet: FeedQuietGroup[], at = T0 + 60_000) => ({ quiet, at, origin: 'feed:host:1' });
const down = (symbols: string[], since = T0): FeedQuietGroup => ({ symbols, reason: 'vendor_unavailable', vendor: 'yahoo', since });
const stale = (symbols: string[], since = T0): FeedQuietGroup => ({ symbols, reason: 'no_quotes', vendor: null, since });
const summary = (changes: ReturnType<VendorStatusBoard['apply']>) => changes.map((c) => `${c.symbol} ${c.status.state} ${c.status.reason}`).sort();

describe('VendorStatusBoard: the instance copy of the feed quiet set', () => {
  it('each message is the whole set: only what changed is reported, a symbol that leaves the set is live again with the matching reason', () => {
    const board = new VendorStatusBoard();
    expect(board.apply(msg([]))).toEqual([]);

    expect(board.apply(msg([down(['AAPL', 'MSFT']), stale(['VFIAX'])]))).toEqual([
      { symbol: 'AAPL', status: { state: 'quiet', reason: 'vendor_unavailable', vendor: 'yahoo', since: iso(T0) } },
      { symbol: 'MSFT', status: { state: 'quiet', reason: 'vendor_unavailable', vendor: 'yahoo', since: iso(T0) } },
      { symbol: 'VFIAX', status: { state: 'quiet', reason: 'no_quotes', vendor: null, since: iso(T0) } },
    ]);
    expect(board.size).toBe(3);

    // A repeat of the same set: nothing to tell.
    expect(board.apply(msg([stale(['VFIAX']), down(['MSFT', 'AAPL'])], T0 + 90_000))).toEqual([]);

    // MSFT now has no quotes although the vendor answers; AAPL is back; VFIAX is back.
    const later = T0 + 120_000;
    const changes = board.apply(msg([stale(['MSFT'], later)], later));
    expect(summary(changes)).toEqual(['AAPL live vendor_recovered', 'MSFT quiet no_quotes', 'VFIAX live quotes_resumed']);
    expect(changes.find((c) => c.symbol === 'AAPL')?.status).toEqual({ state: 'live', reason: 'vendor_recovered', vendor: 'yahoo', since: iso(later) });
    expect(changes.find((c) => c.symbol === 'VFIAX')?.status).toEqual({ state: 'live', reason: 'quotes_resumed', vendor: null, since: iso(later) });

    expect(summary(board.apply(msg([], later + 1_000)))).toEqual(['MSFT live quotes_resumed']);
    expect(board.size).toBe(0);
  });

  it('quietStatusFor: status data for the quiet ones among the symbols, one per reason, vendor and time', () => {
    const board = new VendorStatusBoard();
    expect(board.quietStatusFor(['AAPL'])).toEqual([]);
    board.apply(msg([down(['AAPL', 'MSFT', 'SPY']), stale(['VFIAX']), stale(['IBM'], T0 + 5_000)]));
    const got = board.quietStatusFor(['MSFT', 'BTC-USD', 'VFIAX', 'AAPL', 'IBM']);
    expect(got).toEqual([
      {
        symbols: ['MSFT', 'AAPL'],
        state: 'quiet',
        reason: 'vendor_unavailable',
        vendor: 'yahoo',
        since: iso(T0),
        message: `Prices delayed: yahoo is unavailable since ${iso(T0)}; the last prices stay until it answers again`,
      },
      {
        symbols: ['VFIAX'],
        state: 'quiet',
        reason: 'no_quotes',
        vendor: null,
        since: iso(T0),
        message: `No quotes from any vendor since ${iso(T0)}; the last prices stay until quotes resume`,
      },
      { symbols: ['IBM'], state: 'quiet', reason: 'no_quotes', vendor: null, since: iso(T0 + 5_000), message: expect.stringContaining('No quotes') },
    ]);
    expect(board.quietStatusFor(['BTC-USD', 'EURUSD'])).toEqual([]);
  });
});
