import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PortfolioHistory } from '../../client';
import type { TestApp } from '../support/app';
import { startTestApp } from '../support/app';
import { daysAgo, ensureWebBuilt, launchBrowser, LIVE_APP_ENV, loginDemo, openDashboard, parseShown, poll, screenshot, waitLive } from './support/browser';

const DAILY = ['1w', '1y', 'all', '1m'] as const;

/**
 * The portfolio value chart's range switch (issue 15) in a real Chromium against the real app:
 * 1W / 1M / 1Y / ALL draw the daily history (with cash), 1D the intraday series (positions only)
 * on a time axis, growing with the recorded points and live valuations. The app records the
 * intraday series every second here (PORTFOLIO_INTRADAY_INTERVAL=1), the simulated market ticks
 * every 0.5 s. The suite starts its own app for that setting (useLiveBrowserApp takes no settings).
 */
describe('dashboard: value chart ranges (real browser)', () => {
  const ctx = {} as { app: TestApp; browser: Browser };
  beforeAll(async () => {
    ensureWebBuilt();
    ctx.app = await startTestApp({ ...LIVE_APP_ENV, PORTFOLIO_INTRADAY_INTERVAL: '1' });
    ctx.browser = await launchBrowser();
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.app?.close();
  });

  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  const live = () => waitLive(page);
  const open = async (viewport = { width: 1280, height: 900 }) => {
    ({ context, page, errors } = await openDashboard(ctx.browser, ctx.app.url, viewport));
  };
  afterEach(async () => {
    await context?.close();
  });

  const login = () => loginDemo(page);

  const api = (path: string) => `${ctx.app.url}/api/portfolios${path}`;
  const chart = () => page.getByTestId('portfolio-chart');
  const attr = async (name: string) => chart().getAttribute(`data-${name}`);
  const rangeButton = (range: string) => page.locator(`#pf-chart-ranges .seg-btn[data-range="${range}"]`);
  const pressed = () =>
    page.$$eval('#pf-chart-ranges .seg-btn', (bs) => bs.filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.getAttribute('data-range')));
  const noSidewaysScroll = async () => {
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
  };

  /** The page's portfolio loads (table, allocation, chart) finished: a reload then aborts nothing. */
  const settled = () =>
    poll('the portfolio shown to be loaded', async () => {
      const states = [
        await page.getByTestId('transactions-table').getAttribute('data-state'),
        await page.getByTestId('allocation').getAttribute('data-state'),
        await attr('state'),
      ];
      return states.every((s) => s === 'loaded');
    });

  /**
   * A new portfolio of the demo user: 100,000 deposited 400 days ago (so ALL reaches further back
   * than 1Y), then BTC-USD (never closes, its price always moves) and AAPL bought a few days ago.
   */
  const freshPortfolio = async (name: string): Promise<number> => {
    const res = await context.request.post(api(''), { data: { name } });
    expect(res.status(), await res.text()).toBe(201);
    const { id } = (await res.json()) as { id: number };
    const txs = [
      { type: 'DEPOSIT', date: daysAgo(400), price: '100000', currency: 'USD' },
      { type: 'BUY', date: daysAgo(5), symbol: 'BTC-USD', quantity: '0.5', price: '60000', currency: 'USD' },
      { type: 'BUY', date: daysAgo(3), symbol: 'AAPL', quantity: '20', price: '150', currency: 'USD' },
    ];
    for (const t of txs) {
      const r = await context.request.post(api(`/${id}/transactions`), { data: t });
      expect(r.status(), await r.text()).toBe(201);
    }
    await settled();
    await page.reload();
    await live();
    await poll(`the portfolio picker to offer ${name}`, async () =>
      (await page.$$eval('[data-testid="portfolio-select"] option', (os) => os.map((o) => o.textContent))).includes(name),
    );
    await page.getByTestId('portfolio-select').selectOption({ label: name });
    await poll('the positions of the new portfolio', async () => (await page.locator('[data-testid="position-row"]').count()) === 2);
    return id;
  };

  /** The server's history for a range, as the chart draws it: from the first day with a value. */
  const serverHistory = async (id: number, range: string): Promise<PortfolioHistory> => {
    const res = await context.request.get(api(`/${id}/history?range=${range}`));
    expect(res.status(), await res.text()).toBe(200);
    return (await res.json()) as PortfolioHistory;
  };
  const dailyPointsDrawn = (h: PortfolioHistory) => {
    const first = h.points.findIndex((p) => Number(p.value) !== 0);
    return first < 0 ? 0 : h.points.length - first;
  };

  /** Clicks a range button (or presses Enter on it, `keyboard`), and waits for the page to ask the server for that range. */
  const pick = async (range: string, how: 'click' | 'keyboard' = 'click') => {
    const fetched = page.waitForResponse((r) => r.url().includes(`/history?range=${range}`) && r.request().method() === 'GET', { timeout: 10_000 });
    if (how === 'keyboard') {
      await rangeButton(range).focus();
      await page.keyboard.press('Enter');
    } else await rangeButton(range).click();
    expect((await fetched).status()).toBe(200);
    await poll(`the chart to show ${range}`, async () => (await attr('range')) === range && (await attr('state')) === 'loaded');
    expect(await pressed()).toEqual([range]);
  };

  it('switches between 1W, 1M, 1Y and ALL (daily, with cash) and 1D (intraday positions, growing live), and remembers the choice', async () => {
    await open();
    await login();
    const id = await freshPortfolio('Chart ranges');

    // 1M by default, as before the switch: daily points with cash.
    await poll('the 1M chart', async () => (await attr('range')) === '1m' && (await attr('state')) === 'loaded');
    expect(await pressed()).toEqual(['1m']);
    expect(await page.getByTestId('chart-basis').textContent()).toBe('with cash');

    const counts: Record<string, number> = {};
    for (const range of DAILY) {
      await pick(range, range === '1y' ? 'keyboard' : 'click');
      const expected = dailyPointsDrawn(await serverHistory(id, range));
      counts[range] = await poll(`${expected} points on the ${range} chart`, async () => {
        const n = Number(await attr('points'));
        return n === expected ? n : undefined;
      });
      expect(await attr('axis')).toBe('date');
      expect(await page.getByTestId('chart-basis').textContent()).toBe('with cash');
      expect(await chart().getAttribute('aria-label')).toMatch(/with cash/);
    }
    // 1W is 7 days; the deposit 400 days back is in ALL, not in 1Y (a year plus a day at most).
    expect(counts['1w']).toBe(7);
    expect(counts['1m']).toBeGreaterThanOrEqual(29);
    expect(counts['1m']).toBeLessThanOrEqual(32);
    expect(counts['1y']).toBeGreaterThanOrEqual(366);
    expect(counts['1y']).toBeLessThanOrEqual(367);
    expect(counts['all']).toBe(401);

    // 1M's live point is the live total of the positions plus the cash.
    const cash = parseShown(await page.getByTestId('pf-cash').textContent());
    expect(cash).toBeGreaterThan(50_000);
    await poll(
      'the 1M live point to be the total plus the cash',
      async () => {
        const total = parseShown(await page.getByTestId('portfolio-total').textContent());
        return Math.abs(Number(await attr('last')) - (total + cash)) < 0.005 * (total + cash);
      },
      10_000,
      100,
    );

    // 1D: the intraday series of the positions on a time axis.
    await pick('1d');
    expect(await attr('axis')).toBe('time');
    expect(await page.getByTestId('chart-basis').textContent()).toBe('positions');
    expect(await chart().getAttribute('aria-label')).toMatch(/positions/);
    const first = await poll('intraday points', async () => Number(await attr('points')));
    // It grows: points recorded every second while the value moves (portfolio_point), the live point after them.
    await poll('the 1D chart to grow by three points', async () => Number(await attr('points')) >= first + 3, 20_000, 100);
    // It keeps up with the series the server recorded.
    // (From the first point with a value: the portfolio was recorded empty, at 0, before its transactions.)
    const all = (await serverHistory(id, '1d')).intraday ?? [];
    const recorded = all.slice(
      Math.max(
        0,
        all.findIndex((p) => Number(p.value) !== 0),
      ),
    );
    expect(Number(recorded[0]?.value)).toBeGreaterThan(0);
    expect(recorded.length).toBeGreaterThan(0);
    await poll(`the 1D chart to have the server's ${recorded.length} points`, async () => Number(await attr('points')) >= recorded.length, 10_000, 100);
    // Positions only: the live point is the total shown (not the total plus the cash of the other ranges).
    await poll(
      'the 1D live point to be the total of the positions',
      async () => {
        const total = parseShown(await page.getByTestId('portfolio-total').textContent());
        return total > 0 && Math.abs(Number(await attr('last')) - total) < 0.005 * total;
      },
      10_000,
      100,
    );
    await screenshot(page, 'dashboard-chart-1d');

    // Remembered across a reload: the page comes back on 1D (and on this portfolio), with its intraday points.
    await settled();
    await page.reload();
    await live();
    await poll('the 1D chart after the reload', async () => (await attr('range')) === '1d' && Number(await attr('points')) >= recorded.length);
    expect(await pressed()).toEqual(['1d']);
    expect(await page.getByTestId('portfolio-select').inputValue()).toBe(String(id));
    const afterReload = Number(await attr('points'));
    await poll('the 1D chart to grow after the reload', async () => Number(await attr('points')) > afterReload, 20_000, 100);
    // And back to a daily range from there.
    await pick('1y');
    expect(Number(await attr('points'))).toBe(counts['1y']);
    await noSidewaysScroll();
    await screenshot(page, 'dashboard-chart-1y');
    expect(errors).toEqual([]);
  });

  it('keeps the switch and the chart inside a phone screen (375×800): no sideways scrolling', async () => {
    await open({ width: 375, height: 800 });
    await login();
    await poll('the 1M chart', async () => (await attr('range')) === '1m' && Number(await attr('points')) > 0);
    for (const range of ['all', '1d'] as const) {
      await pick(range);
      await noSidewaysScroll();
      const boxes = await page.$$eval('#pf-chart-ranges .seg-btn, [data-testid="chart-basis"], [data-testid="portfolio-chart"]', (els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, width: r.width, height: r.height };
        }),
      );
      expect(boxes).toHaveLength(7);
      for (const b of boxes) {
        expect(b.left).toBeGreaterThanOrEqual(0);
        expect(b.right).toBeLessThanOrEqual(375);
        expect(b.height).toBeGreaterThan(0);
      }
      // The chart takes the card's width.
      expect(boxes.at(-1)!.width).toBeGreaterThan(300);
      await screenshot(page, `dashboard-chart-phone-${range}`);
    }
    expect(await page.getByTestId('chart-basis').textContent()).toBe('positions');
    expect(errors).toEqual([]);
  });
});
