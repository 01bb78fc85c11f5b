import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll, screenshot, useLiveBrowserApp, watchPageErrors } from './support/browser';

/**
 * A proxy that passes plain HTTP (streamed, unbuffered) but refuses every WebSocket upgrade, as
 * some corporate proxies do: the dashboard falls back to Server-Sent Events and shows live prices.
 */
describe('dashboard behind a proxy that refuses WebSocket (real browser)', () => {
  const ctx = useLiveBrowserApp();
  let proxy: Server;
  let proxyUrl: string;
  let upgradesRefused = 0;

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      const target = new URL(ctx.app.url);
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      req.pipe(up);
    });
    proxy.on('upgrade', (_req, socket) => {
      upgradesRefused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  });

  it('falls back to SSE after a few refused upgrades and shows live prices', async () => {
    const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${proxyUrl}/realtime/dashboard/`);
    await poll('Live over the fallback', async () => (await page.getByTestId('connection-label').textContent()) === 'Live', 30_000, 200);
    expect(upgradesRefused).toBeGreaterThanOrEqual(4);
    expect(await page.evaluate(() => (globalThis as unknown as { realtime: { activeTransport: string } }).realtime.activeTransport)).toBe('sse');
    expect(await page.locator('#conn').getAttribute('data-transport')).toBe('sse');
    expect(await page.locator('#conn').getAttribute('title')).toContain('Server-Sent Events');
    const price = () => page.locator('[data-testid="quote"][data-symbol="AAPL"] .price').textContent();
    await poll('an AAPL price', async () => /\d/.test((await price()) ?? ''));
    const first = await price();
    await poll('AAPL to tick over SSE', async () => (await price()) !== first, 15_000, 200);
    await screenshot(page, 'dashboard-sse-fallback');
    expect(errors.filter((e) => !/WebSocket/i.test(e))).toEqual([]);
    await context.close();
  });
});
