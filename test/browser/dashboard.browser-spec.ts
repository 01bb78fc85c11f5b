import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseShown, poll, saveDocScreenshot, screenshot, useLiveBrowserApp, watchPageErrors } from './support/browser';

/**
 * The dashboard in Debian's Chromium against the real app with the in-process
 * simulated market ticking every 0.5 s.
 */
describe('dashboard (real browser)', () => {
  const ctx = useLiveBrowserApp();
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  const open = async (viewport = { width: 1280, height: 900 }) => {
    context = await ctx.browser.newContext({ viewport });
    page = await context.newPage();
    errors = watchPageErrors(page);
    await page.goto(`${ctx.app.url}/realtime/dashboard/`);
    await poll('the connection indicator to say Live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
  };
  afterEach(async () => {
    await context?.close();
  });

  const prices = (p: Page): Promise<Record<string, string>> =>
    p.$$eval('[data-testid="quote"]', (cards) =>
      Object.fromEntries(cards.map((c) => [c.getAttribute('data-symbol') ?? '', c.querySelector('.price')?.textContent ?? ''])),
    );

  it('shows an anonymous visitor live prices: at least three change within a few intervals, without layout jumps', async () => {
    await open();
    const symbols = await page.$$eval('[data-testid="quote"]', (cards) => cards.map((c) => c.getAttribute('data-symbol')));
    expect(symbols.slice(0, 3)).toEqual(['AAPL', 'GOOGL', 'MSFT']);
    expect(symbols.length).toBeGreaterThanOrEqual(6);
    // Snapshots on subscribe: every card shows a price without waiting for a tick.
    const first = await poll('every card to show a price', async () => {
      const p = await prices(page);
      return Object.values(p).every((v) => /\d/.test(v)) ? p : undefined;
    });
    const boxes = await page.$$eval('[data-testid="quote"]', (cards) => cards.map((c) => JSON.stringify(c.getBoundingClientRect())));
    const changed = await poll(
      'three prices to change',
      async () => {
        const now = await prices(page);
        const moved = Object.keys(now).filter((s) => now[s] !== first[s]);
        return moved.length >= 3 ? moved : undefined;
      },
      10_000,
      200,
    );
    expect(changed.length).toBeGreaterThanOrEqual(3);
    // A moved price flashed green or red.
    const flashed = await page.$$eval('[data-testid="quote"] .price', (els) => els.map((e) => e.getAttribute('data-flash')).filter(Boolean));
    expect(flashed.every((f) => f === 'up' || f === 'down')).toBe(true);
    expect(flashed.length).toBeGreaterThan(0);
    // Numbers changed, boxes did not move.
    const boxesAfter = await page.$$eval('[data-testid="quote"]', (cards) => cards.map((c) => JSON.stringify(c.getBoundingClientRect())));
    expect(boxesAfter).toEqual(boxes);
    // Each card says its market's state (asset_update.market_state); crypto never closes.
    const marketBadge = (s: string) => page.locator(`[data-testid="quote"][data-symbol="${s}"] [data-testid="market-state"]`).textContent();
    expect(await marketBadge('BTC-USD')).toBe('market open');
    expect(['market open', 'market closed', 'pre-market', 'after hours']).toContain(await marketBadge('AAPL'));
    // Each card has its chart (a canvas drawn by lightweight-charts, bundled: no outside request).
    expect(await page.$$eval('[data-testid="quote"] .q-chart canvas', (c) => c.length)).toBeGreaterThanOrEqual(symbols.length);
    await screenshot(page, 'dashboard-anonymous');
    expect(errors).toEqual([]);
  });

  it('adds and removes watchlist symbols with autocomplete, and remembers them across reloads', async () => {
    await open();
    await page.getByTestId('watch-input').fill('nvid');
    const option = page.locator('.ac-list li[data-symbol="NVDA"]');
    await option.waitFor({ timeout: 5_000 });
    await option.click();
    const card = page.locator('[data-testid="quote"][data-symbol="NVDA"]');
    await card.waitFor({ timeout: 5_000 });
    await poll('NVDA to get a price', async () => /\d/.test((await card.locator('.price').textContent()) ?? ''));
    await page.locator('[data-testid="quote"][data-symbol="GOOGL"] button.remove').click();
    await page.reload();
    await poll('reconnect after reload', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
    const symbols = await page.$$eval('[data-testid="quote"]', (cards) => cards.map((c) => c.getAttribute('data-symbol')));
    expect(symbols).toContain('NVDA');
    expect(symbols).not.toContain('GOOGL');
    // An unknown symbol is refused with a message and not added.
    await page.getByTestId('watch-input').fill('NOSUCH');
    await page.getByTestId('watch-input').press('Escape');
    await page.locator('#watch-form button[type="submit"]').click();
    await poll('the unknown-symbol notice', async () => /Unknown symbol/.test((await page.locator('#notice').textContent()) ?? ''));
    expect(await page.locator('[data-testid="quote"][data-symbol="NOSUCH"]').count()).toBe(0);
    await screenshot(page, 'dashboard-watchlist-edited');
    expect(errors).toEqual([]);
  });

  it('logs in as the demo user, follows the demo portfolio live, and the total follows a position added from the page', async () => {
    await open();
    await page.locator('#login-form input[name="username"]').fill('demo');
    await page.locator('#login-form input[name="password"]').fill('demo-password');
    await page.locator('#login-form button[type="submit"]').click();
    await poll('the user name', async () => (await page.getByTestId('user-name').textContent()) === 'demo');
    await poll('the portfolio picker to offer the demo portfolio', async () =>
      (await page.$$eval('[data-testid="portfolio-select"] option', (os) => os.map((o) => o.textContent))).includes('Demo Portfolio'),
    );
    await page.getByTestId('portfolio-select').selectOption({ label: 'Demo Portfolio' });
    await poll('the socket to be authenticated and live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
    const total = page.getByTestId('portfolio-total');
    const firstTotal = await poll('a total value', async () => {
      const t = await total.textContent();
      return t && /\d/.test(t) ? t : undefined;
    });
    // The total can arrive (live update) before the positions table is drawn: wait for the rows too.
    const rows = await poll('the position rows', async () => page.locator('[data-testid="position-row"]').count());
    expect(rows).toBeGreaterThan(0);
    await poll('the total value to change', async () => (await total.textContent()) !== firstTotal, 10_000, 200);
    // Positions show live market values.
    await poll('market values in every row', async () => {
      const values = await page.$$eval('[data-testid="position-row"] [data-col="value"]', (tds) => tds.map((t) => t.textContent ?? ''));
      return values.length > 0 && values.every((v) => /\d/.test(v));
    });
    // The month's performance and value chart: the seed's opening buys are 20 days back.
    await poll('the performance figures', async () => /\d/.test((await page.getByTestId('pf-twr').textContent()) ?? ''));
    for (const id of ['pf-mwr', 'pf-unrealised', 'pf-realised', 'pf-dividends', 'pf-cash']) expect(await page.getByTestId(id).textContent(), id).toMatch(/\d/);
    const chartPoints = await poll('the value chart', async () => Number(await page.getByTestId('portfolio-chart').getAttribute('data-points')) || undefined);
    expect(chartPoints).toBeGreaterThanOrEqual(20);
    // Live valuations move today's point.
    await poll('a live point on the chart', async () => (await page.getByTestId('portfolio-chart').getAttribute('data-last')) !== null, 10_000, 200);
    await screenshot(page, 'dashboard-demo-portfolio');
    if (process.env.UPDATE_DOCS_SCREENSHOT) await saveDocScreenshot(page, 'docs/img/dashboard.png');

    // Add 100 QQQ (tens of thousands of dollars) from the page: the total must jump by about 100 x its price.
    const before = parseShown(await total.textContent());
    const countBefore = Number(await page.getByTestId('portfolio-count').textContent());
    await page.getByTestId('position-symbol').fill('QQQ');
    const pick = page.locator('#position-form .ac-list li[data-symbol="QQQ"]');
    await pick.waitFor({ timeout: 5_000 });
    await pick.click();
    await page.getByTestId('position-quantity').fill('100');
    await page.getByTestId('position-cost').fill('400');
    await page.locator('#position-form button[type="submit"]').click();
    const qqqRow = page.locator('[data-testid="position-row"][data-symbol="QQQ"]');
    await qqqRow.waitFor({ timeout: 10_000 });
    const qqqPrice = await poll('the QQQ row price', async () => {
      const p = parseShown(await qqqRow.locator('[data-col="price"]').textContent());
      return Number.isFinite(p) && p > 0 ? p : undefined;
    });
    await poll('the positions count to grow', async () => Number(await page.getByTestId('portfolio-count').textContent()) === countBefore + 1);
    const after = parseShown(await total.textContent());
    const expectedJump = 100 * qqqPrice;
    // The rest of the portfolio moves a little meanwhile; the jump dominates.
    expect(Math.abs(after - before - expectedJump), `total ${before} -> ${after}, 100 QQQ at ${qqqPrice}`).toBeLessThan(expectedJump * 0.1);
    await screenshot(page, 'dashboard-position-added');

    // Edit it to 200 shares: the total follows again.
    await qqqRow.getByTestId('edit-position').click();
    await qqqRow.getByTestId('edit-quantity').fill('200');
    await qqqRow.getByTestId('save-position').click();
    await poll('the quantity to show 200', async () => (await qqqRow.locator('[data-col="quantity"]').textContent()) === '200');
    const afterEdit = await poll('the total to include 200 QQQ', async () => {
      const t = parseShown(await total.textContent());
      return Math.abs(t - after - expectedJump) < expectedJump * 0.1 ? t : undefined;
    });
    expect(afterEdit).toBeGreaterThan(after);

    // Log out: the portfolio goes away, the page reconnects anonymously and prices keep flowing.
    await page.locator('#logout').click();
    await page.locator('#login-form').waitFor({ state: 'visible', timeout: 5_000 });
    expect(await page.locator('#portfolio-body').isHidden()).toBe(true);
    await poll('Live again, anonymous', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
    expect(await page.evaluate('window.realtime.connection.authenticated')).toBe(false);
    const aapl = page.locator('[data-testid="quote"][data-symbol="AAPL"] .price');
    const seen = await aapl.textContent();
    await poll('AAPL to tick after logout', async () => (await aapl.textContent()) !== seen, 10_000, 200);
    expect(errors).toEqual([]);
  });

  it('stays readable at phone width: no sideways scrolling', async () => {
    await open({ width: 390, height: 844 });
    await poll('prices', async () => /\d/.test((await page.locator('[data-testid="quote"] .price').first().textContent()) ?? ''));
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    const cardWidth = await page
      .locator('[data-testid="quote"]')
      .first()
      .evaluate((el) => el.getBoundingClientRect().width);
    expect(cardWidth).toBeGreaterThan(300);
    await screenshot(page, 'dashboard-phone');
    // Logged in, with the positions table: still no sideways scrolling of the page.
    await page.locator('#login-form input[name="username"]').fill('demo');
    await page.locator('#login-form input[name="password"]').fill('demo-password');
    await page.locator('#login-form button[type="submit"]').click();
    await poll('positions with market values', async () => {
      const values = await page.$$eval('[data-testid="position-row"] [data-col="value"]', (tds) => tds.map((t) => t.textContent ?? ''));
      return values.length > 0 && values.every((v) => /\d/.test(v));
    });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await screenshot(page, 'dashboard-phone-portfolio');
    expect(errors).toEqual([]);
  });
});
