import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageBus } from '../../src/bus/message-bus';
import { poll, useLiveBrowserApp, watchPageErrors } from './support/browser';

/**
 * The dashboard's cards say when the price feed cannot price their symbol, from the server's
 * `status` messages (vendor reasons), and stop saying it when the symbol is live again. The
 * feed's state arrives as it does in production: a `feed.status` message on the app's bus.
 */
describe('dashboard: staleness per card (real browser)', () => {
  const ctx = useLiveBrowserApp();
  let context: BrowserContext | undefined;
  let page: Page;

  afterAll(async () => {
    await context?.close();
  });

  const feedBadge = (symbol: string) => page.locator(`[data-testid="quote"][data-symbol="${symbol}"] [data-testid="feed-state"]`);
  const badges = async (symbols: string[]) => {
    const out: Record<string, string> = {};
    for (const s of symbols) out[s] = (await feedBadge(s).textContent()) ?? '';
    return out;
  };
  const publish = (quiet: BusQuiet[]) => ctx.app.app.get(MessageBus).publish('feed.status', { quiet, at: Date.now(), origin: 'feed:browser-test' });
  type BusQuiet = { symbols: string[]; reason: 'vendor_unavailable' | 'no_quotes'; vendor: string | null; since: number };

  it('shows "delayed: vendor unavailable" and "no quotes" on the affected cards, and clears them when live', async () => {
    context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${ctx.app.url}/realtime/dashboard/`);
    await poll('the connection indicator to say Live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
    const cards = ['AAPL', 'MSFT', 'SPY', 'BTC-USD'];
    await poll('every card to show a price', async () => {
      for (const s of cards) if (!/\d/.test((await page.locator(`[data-testid="quote"][data-symbol="${s}"] .price`).textContent()) ?? '')) return false;
      return true;
    });
    expect(await badges(cards)).toEqual({ AAPL: '', MSFT: '', SPY: '', 'BTC-USD': '' });
    expect(await feedBadge('AAPL').isVisible()).toBe(false);

    const since = Date.now() - 5_000;
    await publish([
      { symbols: ['AAPL', 'MSFT'], reason: 'vendor_unavailable', vendor: 'yahoo', since },
      { symbols: ['SPY'], reason: 'no_quotes', vendor: null, since },
    ]);
    await poll('the badges', async () => (await feedBadge('SPY').textContent()) === 'no quotes');
    expect(await badges(cards)).toEqual({ AAPL: 'delayed: vendor unavailable', MSFT: 'delayed: vendor unavailable', SPY: 'no quotes', 'BTC-USD': '' });
    expect(await feedBadge('AAPL').isVisible()).toBe(true);
    expect(await feedBadge('AAPL').getAttribute('title')).toContain('yahoo is unavailable');

    // AAPL comes back; MSFT and SPY stay quiet.
    await publish([
      { symbols: ['MSFT'], reason: 'vendor_unavailable', vendor: 'yahoo', since },
      { symbols: ['SPY'], reason: 'no_quotes', vendor: null, since },
    ]);
    await poll('AAPL cleared', async () => (await feedBadge('AAPL').textContent()) === '');
    expect(await badges(cards)).toEqual({ AAPL: '', MSFT: 'delayed: vendor unavailable', SPY: 'no quotes', 'BTC-USD': '' });
    expect(await feedBadge('AAPL').getAttribute('title')).toBeNull();

    await publish([]);
    await poll('every badge cleared', async () => Object.values(await badges(cards)).every((b) => b === ''));
    expect(await feedBadge('MSFT').isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });
});
