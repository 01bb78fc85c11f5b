import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../src/realtime/hub/connection-registry';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { CloseCode } from '../../src/realtime/protocol/error-codes';
import { startTestApp } from '../support/app';
import { LIVE_APP_ENV, poll, screenshot, useLiveBrowserApp } from './support/browser';
import { observeFor } from '../support/poll';

/** Stop the server under an open dashboard, start it again on the same port: the page reconnects and resumes. */
describe('dashboard reconnect (real browser)', () => {
  const ctx = useLiveBrowserApp();

  const label = (page: Page) => page.getByTestId('connection-label').textContent();
  const price = (page: Page, symbol: string) => page.locator(`[data-testid="quote"][data-symbol="${symbol}"] .price`).textContent();

  it('after a dropped connection it resumes where it stopped: every AAPL update once, in seq order, none missed', async () => {
    const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const seqs: number[] = [];
    const states: string[] = [];
    await page.exposeFunction('recordSeq', (seq: number) => seqs.push(seq));
    await page.exposeFunction('recordState', (s: string) => states.push(s));
    await page.goto(`${ctx.app.url}/realtime/dashboard/`);
    await poll('Live', async () => (await label(page)) === 'Live');
    await page.evaluate(() => {
      type W = {
        realtime: { on(t: 'asset_update', fn: (u: { symbol: string; seq: number }) => void): void; onState(fn: (s: { state: string }) => void): void };
        recordSeq(n: number): void;
        recordState(s: string): void;
      };
      const w = globalThis as unknown as W;
      w.realtime.on('asset_update', (u) => {
        if (u.symbol === 'AAPL') w.recordSeq(u.seq);
      });
      w.realtime.onState((s) => w.recordState(s.state));
    });
    await poll('two AAPL updates', () => seqs.length >= 2, 15_000, 100);
    const id = await page.evaluate(() => (globalThis as unknown as { realtime: { connection: { connection_id: string } } }).realtime.connection.connection_id);
    const conn = [...ctx.app.app.get(ConnectionRegistry).all()].find((c) => c.id === id)!;
    const before = seqs.length;
    ctx.app.app.get(RealtimeHub).drop(conn, CloseCode.TRY_AGAIN_LATER, 'test: dropped');
    await poll('reconnected', () => states.includes('reconnecting') && states.at(-1) === 'connected', 15_000, 100);
    await poll('three AAPL updates after the drop', () => seqs.length >= before + 3, 15_000, 100);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i], `AAPL seqs ${seqs.join(',')}`).toBe(seqs[i - 1] + 1);
    // The card shows the newest one (never an older price after a newer one).
    await poll('the card to show the newest seq', async () => {
      const shown = Number(await page.locator('[data-testid="quote"][data-symbol="AAPL"]').getAttribute('data-seq'));
      return shown >= seqs.at(-1)! - 1 && shown <= Math.max(...seqs);
    });
    await context.close();
  });

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
