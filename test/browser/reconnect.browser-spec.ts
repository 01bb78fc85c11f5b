import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../support/app';
import { LIVE_APP_ENV, poll, screenshot, useLiveBrowserApp } from './support/browser';
import { observeFor } from '../support/poll';

/** Stop the server under an open dashboard, start it again on the same port: the page reconnects and resumes. */
describe('dashboard reconnect (real browser)', () => {
  const ctx = useLiveBrowserApp();

  const label = (page: Page) => page.getByTestId('connection-label').textContent();
  const price = (page: Page, symbol: string) => page.locator(`[data-testid="quote"][data-symbol="${symbol}"] .price`).textContent();

  it('shows reconnecting while the server is down, then reconnects, resubscribes and resumes live prices', async () => {
    const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const states: string[] = [];
    await page.exposeFunction('recordState', (s: string) => states.push(s));
    await page.goto(`${ctx.app.url}/realtime/dashboard/`);
    await poll('Live', async () => (await label(page)) === 'Live');
    await page.evaluate(() => {
      const w = globalThis as unknown as { realtime: { onState(fn: (s: { state: string }) => void): void }; recordState(s: string): void };
      w.realtime.onState((s) => w.recordState(s.state));
    });
    await poll('an AAPL price', async () => /\d/.test((await price(page, 'AAPL')) ?? ''));

    const port = ctx.app.port;
    const databaseUrl = ctx.app.databaseUrl;
    await ctx.app.stop();
    await poll('the indicator to leave Live', async () => {
      const l = (await label(page)) ?? '';
      return /Reconnecting|Offline|Connecting/.test(l) ? l : undefined;
    });
    await screenshot(page, 'dashboard-server-down');
    // Stays down for a few retries.
    await observeFor(1_500, 'the page stays off Live through a few retries');
    expect(await label(page)).not.toBe('Live');

    ctx.app = await startTestApp(LIVE_APP_ENV, { databaseUrl, port });
    expect(ctx.app.port).toBe(port);
    await poll('Live again', async () => (await label(page)) === 'Live', 30_000, 200);
    // Fresh snapshots and then live ticks again for the whole watchlist.
    const after = await price(page, 'AAPL');
    await poll('AAPL to tick after the restart', async () => (await price(page, 'AAPL')) !== after, 15_000, 200);
    const seqs = await page.$$eval('[data-testid="quote"]', (cards) => cards.map((c) => c.getAttribute('data-seq') ?? ''));
    expect(seqs.every((s) => /^\d+$/.test(s))).toBe(true);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    await screenshot(page, 'dashboard-reconnected');
    await context.close();
  });
});
