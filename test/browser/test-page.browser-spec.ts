import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { poll, screenshot, useLiveBrowserApp, watchPageErrors } from './support/browser';

/** The connection tester at /realtime/test/ in a real browser, on both transports. */
describe('connection test page (real browser)', () => {
  const ctx = useLiveBrowserApp();
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  afterEach(async () => {
    await context?.close();
  });

  const open = async () => {
    context = await ctx.browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    errors = watchPageErrors(page);
    await page.goto(`${ctx.app.url}/realtime/test/`);
  };
  const live = () => poll('the indicator to say Live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
  const frameTypes = (dir: 'in' | 'out') =>
    page.$$eval(`[data-testid="frame"][data-dir="${dir}"]`, (rows) => rows.map((r) => r.getAttribute('data-type') ?? ''));

  for (const transport of ['websocket', 'socketio'] as const) {
    it(`${transport}: connects, ping shows a pong with its round-trip time, subscribe and unsubscribe are logged`, async () => {
      await open();
      await live(); // the page connects over raw WebSocket on load
      if (transport === 'socketio') {
        await page.getByTestId('disconnect').click();
        await poll('offline', async () => (await page.getByTestId('connection-label').textContent()) === 'Offline');
        await page.getByTestId('transport-socketio').check();
        await page.getByTestId('connect').click();
        await live();
        expect(await page.getByTestId('endpoint').textContent()).toContain('/realtime');
      }
      expect(await page.getByTestId('connection-id').textContent()).toMatch(/\S{6,}/);
      expect(await page.getByTestId('connection-user').textContent()).toBe('anonymous');

      await page.getByTestId('ping').click();
      const rtt = await poll('the pong round-trip time', async () => page.getByTestId('rtt-value').textContent());
      expect(rtt).toMatch(/^\d+\.\d ms$/);
      expect(await frameTypes('out')).toContain('ping');
      expect(await frameTypes('in')).toContain('pong');

      await page.getByTestId('symbol-input').fill('AAPL, BTC-USD');
      await page.getByTestId('subscribe-asset').click();
      await poll('subscribed and two live asset_update frames', async () => {
        const types = await frameTypes('in');
        return types.includes('subscribed') && types.filter((t) => t === 'asset_update').length >= 4;
      });
      await page.getByTestId('unsubscribe-asset').click();
      await poll('unsubscribed', async () => (await frameTypes('in')).includes('unsubscribed'));

      // Timestamps on every frame.
      const times = await page.$$eval('[data-testid="frame"] .t', (ts) => ts.map((t) => t.textContent ?? ''));
      expect(times.every((t) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(t))).toBe(true);
      await screenshot(page, `test-page-${transport}`);
      expect(errors).toEqual([]);
    });
  }

  it('sends raw envelopes from the editor, including malformed ones, and logs the typed errors', async () => {
    await open();
    await live();
    await page.getByTestId('raw-editor').fill('{"type": "list_subscriptions", "data": {}, "id": "raw-1"}');
    await page.getByTestId('send-raw').click();
    await poll('the subscriptions reply', async () => (await frameTypes('in')).includes('subscriptions'));
    await page.getByTestId('raw-editor').fill('{"type": "ping", "data": {');
    await page.getByTestId('send-raw').click();
    const errorFrame = page.locator('[data-testid="frame"][data-dir="in"][data-type="error"]').first();
    await errorFrame.waitFor({ timeout: 5_000 });
    expect(await errorFrame.locator('.p').textContent()).toContain('INVALID_JSON');
    // The connection is still usable.
    await page.getByTestId('ping').click();
    await poll('a pong after the bad frame', async () => page.getByTestId('rtt-value').textContent());
    expect(await page.getByTestId('connection-label').textContent()).toBe('Live');
    await screenshot(page, 'test-page-raw');
    expect(errors).toEqual([]);
  });
});
