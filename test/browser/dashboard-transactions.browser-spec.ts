import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { daysAgo, loginDemo, openDashboard, poll, saveDocScreenshot, screenshot, useLiveBrowserApp, waitLive } from './support/browser';

const TODAY = daysAgo(0);
const CSV_HEADER = 'date,type,symbol,quantity,price,fee,currency,note';

interface Tx {
  type: string;
  date: string;
  symbol?: string;
  quantity?: string;
  price?: string;
  fee?: string;
  currency?: string;
  note?: string;
}

/**
 * The dashboard's ledger (issue 15) in a real Chromium against the real app: the transactions
 * table and form, the CSV import with its dry run, the CSV export and the allocation chart.
 * Every test works on a fresh portfolio of the demo user, so the seeded one is left alone.
 */
describe('dashboard: transactions, CSV import and allocation (real browser)', () => {
  const ctx = useLiveBrowserApp();
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
  const table = () => page.getByTestId('transactions-table');
  const rows = () => page.getByTestId('tx-row');
  const txCount = async () => Number((await table().getAttribute('data-count')) ?? NaN);
  const serverTxCount = async (id: number) => ((await (await context.request.get(api(`/${id}/transactions`))).json()) as { total: number }).total;
  const positionQty = (symbol: string) => page.locator(`[data-testid="position-row"][data-symbol="${symbol}"] [data-col="quantity"]`).textContent();
  const cell = (row: ReturnType<Page['locator']>, col: string) => row.locator(`[data-col="${col}"]`).textContent();

  /**
   * A new portfolio of the logged-in user with `txs` recorded through the API (the page's
   * session cookie), then picked in the dashboard once its transactions are listed.
   */
  const freshPortfolio = async (name: string, txs: Tx[] = []): Promise<{ id: number; txIds: number[] }> => {
    const res = await context.request.post(api(''), { data: { name } });
    expect(res.status(), await res.text()).toBe(201);
    const { id } = (await res.json()) as { id: number };
    const txIds: number[] = [];
    for (const t of txs) {
      const r = await context.request.post(api(`/${id}/transactions`), { data: t });
      expect(r.status(), await r.text()).toBe(201);
      txIds.push(((await r.json()) as { id: number }).id);
    }
    // The page shows a portfolio since the login: let its requests finish (a reload would abort them), then reload for the new list.
    await poll('the portfolio shown to be loaded', async () => {
      const states = [await table().getAttribute('data-state'), await page.getByTestId('allocation').getAttribute('data-state')];
      return states.every((s) => s === 'loaded');
    });
    await page.reload();
    await live();
    await poll(`the portfolio picker to offer ${name}`, async () =>
      (await page.$$eval('[data-testid="portfolio-select"] option', (os) => os.map((o) => o.textContent))).includes(name),
    );
    await page.getByTestId('portfolio-select').selectOption({ label: name });
    await poll(
      `the ${txs.length} transactions of ${name}`,
      async () => (await table().getAttribute('data-state')) === 'loaded' && (await txCount()) === txs.length,
    );
    return { id, txIds };
  };

  /** Fills the transaction form; the symbol is typed in lower case and picked from the suggestions. */
  const fillTx = async (t: Partial<Tx>) => {
    if (t.type) await page.getByTestId('tx-type').selectOption(t.type);
    if (t.date) await page.getByTestId('tx-date').fill(t.date);
    if (t.symbol) {
      await page.getByTestId('tx-symbol').fill(t.symbol.toLowerCase());
      const option = page.locator(`#tx-form .ac-list li[data-symbol="${t.symbol}"]`);
      await option.waitFor({ timeout: 5_000 });
      await option.click();
    }
    for (const k of ['quantity', 'price', 'fee', 'currency', 'note'] as const) {
      if (t[k] !== undefined) await page.getByTestId(`tx-${k}`).fill(t[k]);
    }
  };

  const csvFile = (name: string, lines: string[]) => ({ name, mimeType: 'text/csv', buffer: Buffer.from([CSV_HEADER, ...lines].join('\r\n') + '\r\n') });

  const slices = () =>
    page.$$eval('[data-testid="allocation-slice"]', (lis) =>
      lis.map((li) => ({
        key: li.getAttribute('data-key') ?? '',
        share: Number(li.getAttribute('data-share')),
        shown: li.querySelector('.share')?.textContent ?? '',
      })),
    );
  /** The slices once they are exactly `keys` (any order). */
  const slicesFor = (what: string, keys: string[]) =>
    poll(`the allocation ${what}: ${keys.join(', ')}`, async () => {
      const s = await slices();
      return s.length === keys.length && keys.every((k) => s.some((x) => x.key === k)) ? s : undefined;
    });
  const expectWhole = (s: { share: number; shown: string }[]) => {
    // The server's shares sum to exactly 1; the one-decimal percentages shown to 100 give or take their rounding.
    expect(Math.abs(s.reduce((sum, x) => sum + x.share, 0) - 1)).toBeLessThan(1e-9);
    const shown = s.reduce((sum, x) => sum + Number(x.shown.replace(/[^0-9.]/g, '')), 0);
    expect(Math.abs(shown - 100)).toBeLessThanOrEqual(0.05 * s.length + 1e-9);
    expect(s.every((x) => x.share > 0 && /^\d+\.\d %$/.test(x.shown))).toBe(true);
  };

  const noSidewaysScroll = async () => {
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
  };

  it('records a BUY from the form: it tops the table and the position grows; a SELL beyond the holding shows the server’s message and changes nothing', async () => {
    await open();
    await login();
    const { id } = await freshPortfolio('Ledger form', [{ type: 'BUY', date: daysAgo(5), symbol: 'AAPL', quantity: '10', price: '150', currency: 'USD' }]);
    await poll('the AAPL position of 10', async () => (await positionQty('AAPL')) === '10');
    expect(await page.getByTestId('tx-form').getAttribute('data-mode')).toBe('add');
    expect(await page.getByTestId('tx-date').inputValue()).toBe(TODAY);

    await fillTx({ type: 'BUY', date: TODAY, symbol: 'AAPL', quantity: '5', price: '151.5', fee: '1', note: 'Second lot' });
    await page.getByTestId('tx-submit').click();
    await poll('two transactions', async () => (await txCount()) === 2);
    // Newest first: today's BUY above the one of five days ago.
    const first = rows().first();
    expect(await cell(first, 'date')).toContain(TODAY);
    expect(await cell(first, 'type')).toBe('BUY');
    expect(await cell(first, 'symbol')).toContain('AAPL');
    expect(await cell(first, 'quantity')).toBe('5');
    expect(await cell(first, 'price')).toBe('151.5');
    expect(await cell(first, 'fee')).toBe('1');
    expect(await cell(first, 'currency')).toBe('USD');
    expect(await cell(first, 'note')).toBe('Second lot');
    expect(await cell(rows().nth(1), 'date')).toContain(daysAgo(5));
    // The ledger rewrote the position; the page reloaded it.
    await poll('the AAPL position to grow to 15', async () => (await positionQty('AAPL')) === '15');
    expect(await page.getByTestId('tx-error').textContent()).toBe('');
    expect(await page.getByTestId('tx-quantity').inputValue()).toBe('');

    // Selling more than is held: the server refuses (400, SELL_EXCEEDS_HOLDING), its message is shown next to the form.
    await fillTx({ type: 'SELL', date: TODAY, symbol: 'AAPL', quantity: '100', price: '160' });
    await page.getByTestId('tx-submit').click();
    const message = await poll('the refusal next to the form', async () => {
      const t = await page.getByTestId('tx-error').textContent();
      return t && /cannot sell/.test(t) ? t : undefined;
    });
    expect(message).toMatch(/SELL_EXCEEDS_HOLDING: cannot sell 100 AAPL .*15 held/);
    expect(await page.getByTestId('tx-error').getAttribute('data-code')).toBe('SELL_EXCEEDS_HOLDING');
    // Nothing changed: not on the server, not in the table, not in the position; the form keeps what was typed.
    expect(await serverTxCount(id)).toBe(2);
    expect(await txCount()).toBe(2);
    expect(await rows().count()).toBe(2);
    expect(await positionQty('AAPL')).toBe('15');
    expect(await page.getByTestId('tx-quantity').inputValue()).toBe('100');
    await screenshot(page, 'dashboard-transactions-refused');
    expect(errors).toEqual([]);
  });

  /** MSFT: BUY 10, BUY 5, SELL 12 (3 held). */
  const threeTrades = (name: string) =>
    freshPortfolio(name, [
      { type: 'BUY', date: daysAgo(6), symbol: 'MSFT', quantity: '10', price: '300' },
      { type: 'BUY', date: daysAgo(4), symbol: 'MSFT', quantity: '5', price: '310' },
      { type: 'SELL', date: daysAgo(2), symbol: 'MSFT', quantity: '12', price: '320', note: 'Trim' },
    ]);

  it('edits a row through the form: the position follows', async () => {
    await open();
    await login();
    const {
      id,
      txIds: [firstBuy],
    } = await threeTrades('Ledger edit');
    await poll('the MSFT position of 3', async () => (await positionQty('MSFT')) === '3');
    expect(await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')))).toEqual(['SELL', 'BUY', 'BUY']);

    // Edit the first BUY: the form takes its values; 10 → 20.
    const row = page.locator(`[data-testid="tx-row"][data-tx-id="${firstBuy}"]`);
    await row.getByTestId('tx-edit').click();
    expect(await page.getByTestId('tx-form').getAttribute('data-mode')).toBe('edit');
    expect(await page.getByTestId('tx-type').inputValue()).toBe('BUY');
    expect(await page.getByTestId('tx-date').inputValue()).toBe(daysAgo(6));
    expect(await page.getByTestId('tx-symbol').inputValue()).toBe('MSFT');
    expect(await page.getByTestId('tx-quantity').inputValue()).toBe('10');
    expect(await page.getByTestId('tx-price').inputValue()).toBe('300');
    expect(await page.getByTestId('tx-submit').textContent()).toBe('Save changes');
    expect(await row.getAttribute('class')).toContain('editing');
    // Cancel leaves it as it was; Edit again.
    await page.getByTestId('tx-cancel').click();
    expect(await page.getByTestId('tx-form').getAttribute('data-mode')).toBe('add');
    expect(await page.getByTestId('tx-quantity').inputValue()).toBe('');
    await row.getByTestId('tx-edit').click();
    await page.getByTestId('tx-quantity').fill('20');
    await page.getByTestId('tx-note').fill('Corrected');
    await page.getByTestId('tx-submit').click();
    await poll('the edited quantity', async () => (await cell(row, 'quantity')) === '20');
    expect(await cell(row, 'note')).toBe('Corrected');
    expect(await page.getByTestId('tx-form').getAttribute('data-mode')).toBe('add');
    expect(await page.getByTestId('tx-submit').textContent()).toBe('Add transaction');
    await poll('the MSFT position to become 13', async () => (await positionQty('MSFT')) === '13');
    expect(await serverTxCount(id)).toBe(3);

    // An edit the ledger refuses (the BUY down to 1: the SELL of 12 would exceed the holding): shown, nothing changed.
    await row.getByTestId('tx-edit').click();
    await page.getByTestId('tx-quantity').fill('1');
    await page.getByTestId('tx-submit').click();
    await poll('the refusal next to the form', async () => /SELL_EXCEEDS_HOLDING/.test((await page.getByTestId('tx-error').textContent()) ?? ''));
    expect(await page.getByTestId('tx-form').getAttribute('data-mode')).toBe('edit');
    expect(await cell(row, 'quantity')).toBe('20');
    expect(await positionQty('MSFT')).toBe('13');
    expect(errors).toEqual([]);
  });

  it('deletes rows after a second click, and shows why the ledger refuses a delete', async () => {
    await open();
    await login();
    const {
      id,
      txIds: [firstBuy, secondBuy, sell],
    } = await freshPortfolio('Ledger delete', [
      { type: 'BUY', date: daysAgo(6), symbol: 'MSFT', quantity: '10', price: '300' },
      { type: 'BUY', date: daysAgo(4), symbol: 'MSFT', quantity: '5', price: '310' },
      { type: 'SELL', date: daysAgo(2), symbol: 'MSFT', quantity: '3', price: '320' },
    ]);
    await poll('the MSFT position of 12', async () => (await positionQty('MSFT')) === '12');
    const txRow = (txId: number) => page.locator(`[data-testid="tx-row"][data-tx-id="${txId}"]`);

    // Delete the second BUY: the first click only asks again.
    await txRow(secondBuy!).getByTestId('tx-delete').click();
    expect(await txRow(secondBuy!).getByTestId('tx-delete').textContent()).toBe('Sure?');
    expect(await serverTxCount(id)).toBe(3);
    await txRow(secondBuy!).getByTestId('tx-delete').click();
    await poll('the row to go', async () => (await txCount()) === 2 && (await txRow(secondBuy!).count()) === 0);
    await poll('the MSFT position to become 7', async () => (await positionQty('MSFT')) === '7');
    expect(await serverTxCount(id)).toBe(2);

    // Deleting the remaining BUY would leave the SELL of 3 without shares: refused, shown, nothing deleted.
    await txRow(firstBuy!).getByTestId('tx-delete').click();
    await txRow(firstBuy!).getByTestId('tx-delete').click();
    const message = await poll('the refusal next to the form', async () => {
      const t = await page.getByTestId('tx-error').textContent();
      return t && /SELL_EXCEEDS_HOLDING/.test(t) ? t : undefined;
    });
    expect(message).toMatch(/cannot sell 3 MSFT/);
    expect(await txRow(firstBuy!).count()).toBe(1);
    expect(await txCount()).toBe(2);
    expect(await serverTxCount(id)).toBe(2);
    expect(await positionQty('MSFT')).toBe('7');

    // Deleting the SELL instead: the position grows back to 10, and the message goes.
    await txRow(sell!).getByTestId('tx-delete').click();
    await txRow(sell!).getByTestId('tx-delete').click();
    await poll('the MSFT position to become 10', async () => (await positionQty('MSFT')) === '10');
    expect(await page.getByTestId('tx-error').textContent()).toBe('');
    expect(await serverTxCount(id)).toBe(1);
    expect(errors).toEqual([]);
  });

  it('imports a CSV: a line rejected by the dry run blocks the import; a good file imports and its rows appear; the export has them', async () => {
    await open();
    await login();
    const { id } = await freshPortfolio('Ledger import');
    expect(await page.getByTestId('tx-empty').isVisible()).toBe(true);
    const importButton = page.getByTestId('csv-import-button');
    const report = page.getByTestId('csv-report');
    expect(await importButton.isDisabled()).toBe(true);

    // One bad line (line 3: the quantity is not a number): the dry run lists it, nothing can be imported.
    await page
      .getByTestId('csv-file')
      .setInputFiles(
        csvFile('bad.csv', [
          `${daysAgo(10)},DEPOSIT,,,10000,0,USD,Savings`,
          `${daysAgo(9)},BUY,AAPL,ten,150,0,USD,typo`,
          `${daysAgo(8)},BUY,MSFT,5,300,1,USD,`,
        ]),
      );
    await poll('the dry run to reject a line', async () => (await report.getAttribute('data-state')) === 'rejected');
    const summary = page.getByTestId('csv-summary');
    expect(await summary.getAttribute('data-accepted')).toBe('2');
    expect(await summary.getAttribute('data-rejected')).toBe('1');
    expect(await summary.textContent()).toContain('bad.csv: 2 lines accepted, 1 rejected');
    const rejected = page.getByTestId('csv-rejected-line');
    expect(await rejected.count()).toBe(1);
    expect(await rejected.getAttribute('data-line')).toBe('3');
    expect(await rejected.textContent()).toMatch(/^Line 3: .*quantity/);
    expect(await importButton.isDisabled()).toBe(true);
    expect(await serverTxCount(id)).toBe(0);
    await screenshot(page, 'dashboard-transactions-import-rejected');

    // A good file: accepted, nothing written by the dry run, then imported.
    await page
      .getByTestId('csv-file')
      .setInputFiles(
        csvFile('good.csv', [
          `${daysAgo(10)},DEPOSIT,,,10000,0,USD,Savings`,
          `${daysAgo(9)},BUY,AAPL,10,150,0,USD,"First lot, AAPL"`,
          `${daysAgo(8)},BUY,BTC-USD,0.05,40000,2,USD,`,
          `${daysAgo(3)},DIVIDEND,AAPL,10,0.25,0,USD,`,
        ]),
      );
    await poll('the dry run to accept the file', async () => (await report.getAttribute('data-state')) === 'ready');
    expect(await summary.getAttribute('data-accepted')).toBe('4');
    expect(await summary.getAttribute('data-rejected')).toBe('0');
    expect(await page.getByTestId('csv-rejected-line').count()).toBe(0);
    expect(await importButton.isEnabled()).toBe(true);
    expect(await serverTxCount(id)).toBe(0);
    await importButton.click();
    await poll('the import', async () => (await report.getAttribute('data-state')) === 'imported');
    expect(await summary.textContent()).toContain('Imported 4 transactions from good.csv');
    await poll('the four rows', async () => (await txCount()) === 4);
    expect(await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')))).toEqual(['DIVIDEND', 'BUY', 'BUY', 'DEPOSIT']);
    expect(await cell(rows().nth(2), 'note')).toBe('First lot, AAPL');
    await poll('the imported positions', async () => (await positionQty('AAPL')) === '10' && (await positionQty('BTC-USD')) === '0.05');
    await poll('two positions', async () => (await page.getByTestId('portfolio-count').textContent()) === '2');
    expect(await importButton.isDisabled()).toBe(true);
    expect(await page.getByTestId('tx-empty').isVisible()).toBe(false);

    // The export link downloads the ledger as CSV (same session).
    const href = await page.getByTestId('tx-export').getAttribute('href');
    expect(href).toBe(`/api/portfolios/${id}/transactions.csv`);
    expect(await page.getByTestId('tx-export').getAttribute('download')).toBe('ledger-import-transactions.csv');
    const csv = await (await context.request.get(`${ctx.app.url}${href}`)).text();
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines).toHaveLength(5);
    expect(csv).toContain(`${daysAgo(9)},BUY,AAPL,10,150,0,USD,"First lot, AAPL"`);
    expect(errors).toEqual([]);
  });

  it('shows the allocation: the shares sum to 100 %, the grouping switches, and it follows a new transaction', async () => {
    await open();
    await login();
    await freshPortfolio('Ledger allocation', [
      { type: 'DEPOSIT', date: daysAgo(10), price: '20000' },
      { type: 'BUY', date: daysAgo(9), symbol: 'AAPL', quantity: '10', price: '150' },
      { type: 'BUY', date: daysAgo(8), symbol: 'BTC-USD', quantity: '0.05', price: '40000' },
    ]);
    await page.locator('.seg-btn[data-group="by_holding"]').click();
    expectWhole(await slicesFor('by holding', ['AAPL', 'BTC-USD', 'CASH']));
    expect(await page.locator('.seg-btn[data-group="by_holding"]').getAttribute('aria-pressed')).toBe('true');
    const chart = page.locator('[data-testid="allocation-chart"] svg');
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.getAttribute('aria-label')).toMatch(/^Allocation by holding: .*AAPL \d+\.\d %/);
    expect(await page.locator('[data-testid="allocation-chart"] circle[data-key]').count()).toBe(3);

    await page.locator('.seg-btn[data-group="by_asset_type"]').click();
    expectWhole(await slicesFor('by asset type', ['STOCK', 'CRYPTO', 'CASH']));
    expect(await page.locator('.seg-btn[data-group="by_asset_type"]').getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('.seg-btn[data-group="by_holding"]').getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator('[data-testid="allocation-slice"][data-key="STOCK"] .key').textContent()).toBe('Stocks');

    await page.locator('.seg-btn[data-group="by_currency"]').click();
    expectWhole(await slicesFor('by currency', ['USD', 'CASH']));

    // A new kind of holding (an ETF) from the form: allocation, positions and figures follow.
    await page.locator('.seg-btn[data-group="by_asset_type"]').click();
    await fillTx({ type: 'BUY', date: TODAY, symbol: 'SPY', quantity: '4', price: '500' });
    await page.getByTestId('tx-submit').click();
    expectWhole(await slicesFor('by asset type, with the ETF', ['STOCK', 'CRYPTO', 'ETF', 'CASH']));
    await poll('three positions', async () => (await page.getByTestId('portfolio-count').textContent()) === '3');

    // An older deposit: the value chart now starts ten days earlier.
    const points = await poll('the value chart', async () => Number(await page.getByTestId('portfolio-chart').getAttribute('data-points')) || undefined);
    await fillTx({ type: 'DEPOSIT', date: daysAgo(20), price: '1000' });
    expect(await page.getByTestId('tx-symbol').isDisabled()).toBe(true);
    expect(await page.getByTestId('tx-quantity').isDisabled()).toBe(true);
    await page.getByTestId('tx-submit').click();
    await poll('the chart to start earlier', async () => Number(await page.getByTestId('portfolio-chart').getAttribute('data-points')) >= points + 10);
    expect(await page.getByTestId('tx-error').textContent()).toBe('');
    expect(errors).toEqual([]);
  });

  const SHOWCASE: Tx[] = [
    { type: 'DEPOSIT', date: daysAgo(12), price: '25000', note: 'Opening deposit' },
    { type: 'BUY', date: daysAgo(11), symbol: 'AAPL', quantity: '20', price: '150', fee: '1' },
    { type: 'BUY', date: daysAgo(10), symbol: 'MSFT', quantity: '8', price: '310', fee: '1' },
    { type: 'BUY', date: daysAgo(9), symbol: 'BTC-USD', quantity: '0.08', price: '41000', fee: '4.5', note: 'Small crypto position to diversify a bit' },
    { type: 'BUY', date: daysAgo(7), symbol: 'SPY', quantity: '6', price: '495' },
    { type: 'DIVIDEND', date: daysAgo(3), symbol: 'AAPL', quantity: '20', price: '0.25' },
    { type: 'SELL', date: daysAgo(1), symbol: 'MSFT', quantity: '3', price: '325', fee: '1' },
  ];

  /** The page at a size: ledger, allocation and an import report shown; no sideways scrolling, the screenshot saved. */
  const showcase = async (viewport: { width: number; height: number }, name: string) => {
    await open(viewport);
    await login();
    await freshPortfolio(`Showcase ${viewport.width}`, SHOWCASE);
    await page.locator('.seg-btn[data-group="by_holding"]').click();
    expectWhole(await slicesFor('by holding', ['AAPL', 'MSFT', 'BTC-USD', 'SPY', 'CASH']));
    await page
      .getByTestId('csv-file')
      .setInputFiles(csvFile('broker-export.csv', [`${daysAgo(2)},BUY,NOSUCH,1,10,0,USD,`, `${daysAgo(2)},BUY,AAPL,1,150,0,USD,`]));
    await poll('the dry run report', async () => (await page.getByTestId('csv-report').getAttribute('data-state')) === 'rejected');
    await poll('market values in every position row', async () => {
      const values = await page.$$eval('[data-testid="position-row"] [data-col="value"]', (tds) => tds.map((t) => t.textContent ?? ''));
      return values.length === 4 && values.every((v) => /\d/.test(v));
    });
    await noSidewaysScroll();
    // The table fits its box (no scrolling inside it either), and so does the form.
    const tableWrap = await table().evaluate((t) => ({ scroll: t.parentElement!.scrollWidth, client: t.parentElement!.clientWidth }));
    expect(tableWrap.scroll).toBeLessThanOrEqual(tableWrap.client);
    // No cell is cut off (dates, numbers, buttons), a long note aside (it ends in "…").
    const clipped = await table().evaluate((t) =>
      [...t.querySelectorAll<HTMLElement>('tbody td')]
        .filter((td) => td.offsetParent !== null && td.dataset.col !== 'note' && td.scrollWidth > td.clientWidth)
        .map((td) => `${td.dataset.col ?? 'actions'}: ${td.textContent}`),
    );
    expect(clipped).toEqual([]);
    const formBox = await page.getByTestId('tx-form').boundingBox();
    expect(formBox!.x + formBox!.width).toBeLessThanOrEqual(viewport.width);
    // Every click scrolled the page: back to the top, where the sticky top bar belongs in a full-page screenshot.
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, name);
    if (process.env.UPDATE_DOCS_SCREENSHOT) await saveDocScreenshot(page, `docs/img/${name}.png`);
    expect(errors).toEqual([]);
  };

  it('fits a desktop screen (1280×900): screenshot', async () => {
    await showcase({ width: 1280, height: 900 }, 'dashboard-transactions-desktop');
    // Every column shown; the phone's summary lines are not.
    const first = page.getByTestId('tx-row').first();
    for (const col of ['date', 'type', 'symbol', 'quantity', 'price', 'fee', 'currency', 'note'])
      expect(await first.locator(`[data-col="${col}"]`).isVisible(), col).toBe(true);
    expect(await first.locator('[data-col="symbol"] .tx-type').isVisible()).toBe(false);
    expect(await first.locator('[data-col="symbol"] .sub').isVisible()).toBe(false);
  });

  it('fits a phone screen (375×800) without sideways scrolling: screenshot', async () => {
    await showcase({ width: 375, height: 800 }, 'dashboard-transactions-phone');
    // The phone layout: the detail columns are hidden, the symbol cell says what, when and how much.
    const first = page.getByTestId('tx-row').first();
    for (const col of ['date', 'type', 'quantity', 'price', 'fee', 'currency', 'note'])
      expect(await first.locator(`[data-col="${col}"]`).isVisible(), col).toBe(false);
    expect(await first.locator('[data-col="symbol"] .tx-type').isVisible()).toBe(true);
    expect(await first.locator('[data-col="symbol"] .tx-type').textContent()).toBe('Sell');
    expect(await first.locator('[data-col="symbol"] .sub').textContent()).toBe(`${daysAgo(1)} · 3 × 325 USD · fee 1`);
  });
});
