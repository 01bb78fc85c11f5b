import Decimal from 'decimal.js';
import type { AssetJson, AssetUpdateData, PortfolioJson, PortfolioUpdateData, PositionJson, RealtimeClient } from '../../../client';
import { RealtimeError } from '../../../client';
import * as rest from '../shared/api';
import { ApiError } from '../shared/api';
import { attachAutocomplete } from '../shared/autocomplete';
import { $, flash, h, notify, setText } from '../shared/dom';
import { formatClock, formatMoney, formatPercent, formatPrice, formatQuantity, formatSignedMoney, signClass } from '../shared/format';
import { FrameBatcher } from '../shared/raf';
import { AllocationChart } from './allocation';
import { CsvImport } from './csv-import';
import type { Market } from './market';
import { TransactionsPanel } from './transactions';
import { isChartRange, ValueChart, type ChartRange } from './value-chart';

const SELECTED_KEY = 'rm.portfolio.v1';
const RANGE_KEY = 'rm.chart-range.v1';
/** What the chart's value is: the 1D series is the positions' live total, the daily ones include cash. */
const RANGE_BASIS: Record<ChartRange, string> = { '1d': 'positions', '1w': 'with cash', '1m': 'with cash', '1y': 'with cash', all: 'with cash' };
const RANGE_LABEL: Record<ChartRange, string> = {
  '1d': 'Portfolio value of the positions, today',
  '1w': 'Portfolio value with cash, last week',
  '1m': 'Portfolio value with cash, last month',
  '1y': 'Portfolio value with cash, last year',
  all: 'Portfolio value with cash, since the first transaction',
};
const DECIMAL_RE = /^(?:\d{1,15})(?:\.\d{1,10})?$/;

interface Row {
  position: PositionJson;
  tr: HTMLTableRowElement;
  price: HTMLElement;
  /** Phone layout: "quantity × price" under the name (the columns are hidden there). */
  sub: HTMLElement;
  value: HTMLElement;
  day: HTMLElement;
  pnl: HTMLElement;
  lastValue?: string;
  editing: boolean;
}

/**
 * The logged-in part: portfolio picker, live total / daily change / %, and a
 * positions table whose prices and market values move with the market.
 * Positions are added and edited through the REST API; the server then pushes
 * a fresh portfolio_update, so the total follows at once. Below them: the
 * allocation (allocation.ts), the ledger's transactions (transactions.ts) and
 * the CSV import (csv-import.ts); a change there reloads all of it.
 */
export class PortfolioPanel {
  private readonly anon = $('#portfolio-anon');
  private readonly body = $('#portfolio-body');
  private readonly select = $<HTMLSelectElement>('#portfolio-select');
  private readonly total = $('#pf-total');
  private readonly change = $('#pf-change');
  private readonly pct = $('#pf-change-pct');
  private readonly count = $('#pf-count');
  private readonly stale = $('#pf-stale');
  private readonly asOf = $('#pf-asof');
  private readonly tbody = $('#positions-body');
  private readonly empty = $('#positions-empty');
  private readonly form = $<HTMLFormElement>('#position-form');
  private readonly formError = $('[data-testid="position-error"]');
  private readonly twr = $('#pf-twr');
  private readonly mwr = $('#pf-mwr');
  private readonly unrealisedPl = $('#pf-unrealised');
  private readonly realisedPl = $('#pf-realised');
  private readonly dividends = $('#pf-dividends');
  /** Cash is in the chart's value (history) but not in the live total (the positions only). */
  private readonly cash = $('#pf-cash');
  private chart: ValueChart | null = null;
  private perfSeq = 0;
  /** The value chart's range (the switch, remembered); 1D subscribes to the intraday series. */
  private range: ChartRange;
  private readonly rangeButtons = [...document.querySelectorAll<HTMLButtonElement>('#pf-chart-ranges .seg-btn[data-range]')];
  private readonly basis = $('#pf-chart-basis');
  private chartSeq = 0;
  /** Counts the portfolio_series received: a REST 1D series older than one of them is not drawn. */
  private seriesCount = 0;
  private readonly allocation = new AllocationChart($('#allocation'));
  private readonly transactions: TransactionsPanel;
  private readonly csvImport: CsvImport;

  private list: PortfolioJson[] = [];
  private current: PortfolioJson | null = null;
  private rows = new Map<number, Row>();
  private lastTotal?: number;
  private lastUpdateAt = 0;
  private loadSeq = 0;
  private readonly batcher = new FrameBatcher<number, PortfolioUpdateData>((batch) => {
    for (const u of batch.values()) this.renderValuation(u);
  });

  constructor(
    private readonly client: RealtimeClient,
    private readonly market: Market,
    private readonly catalog: () => Map<string, AssetJson>,
  ) {
    client.on('portfolio_update', (u) => {
      if (this.current && u.portfolio_id === this.current.id) {
        this.lastUpdateAt = performance.now();
        this.batcher.push(u.portfolio_id, u);
        this.chart?.live(u.total_value, u.as_of);
      }
    });
    client.on('portfolio_series', (d) => {
      if (this.range !== '1d' || !this.current || d.portfolio_id !== this.current.id) return;
      this.seriesCount++;
      this.valueChart().setIntraday(d.points);
    });
    client.on('portfolio_point', (d) => {
      if (this.range === '1d' && this.current && d.portfolio_id === this.current.id) this.chart?.addIntraday(d);
    });
    const saved = localStorage.getItem(RANGE_KEY);
    this.range = isChartRange(saved) ? saved : '1m';
    this.renderRange();
    for (const b of this.rangeButtons) b.addEventListener('click', () => this.switchRange(b.dataset.range));
    client.on('unsubscribed', (d) => {
      if (d.reason === 'portfolio_deleted' && this.current && d.portfolios.includes(this.current.id)) {
        notify('This portfolio was deleted');
        void this.show();
      }
    });
    market.onUpdates((batch) => this.applyPrices(batch));
    // After a transaction is recorded, changed or deleted, or a CSV imported: positions, figures, allocation, chart and ledger again.
    this.transactions = new TransactionsPanel(
      () => this.reload(),
      (symbol) => this.market.quotes.get(symbol)?.price,
    );
    this.csvImport = new CsvImport(() => this.reload());
    this.select.addEventListener('change', () => void this.open(Number(this.select.value)));
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.submitNew();
    });
    const symbolInput = this.form.elements.namedItem('symbol') as HTMLInputElement;
    attachAutocomplete(symbolInput, {
      exclude: () => new Set([...this.rows.values()].map((r) => r.position.symbol)),
      onPick: (a) => {
        symbolInput.value = a.symbol;
        const cost = this.form.elements.namedItem('average_cost') as HTMLInputElement;
        const live = this.market.quotes.get(a.symbol)?.price ?? (a.current_price != null ? Number(a.current_price) : undefined);
        if (!cost.value && live !== undefined && Number.isFinite(live)) cost.value = String(live);
        (this.form.elements.namedItem('quantity') as HTMLInputElement).focus();
      },
    });
  }

  /** Logged in: load the portfolios and open the remembered (or first) one. */
  async show(): Promise<void> {
    this.anon.hidden = true;
    this.body.hidden = false;
    try {
      this.list = await rest.portfolios();
    } catch (err) {
      notify(`Could not load portfolios: ${(err as Error).message}`);
      return;
    }
    this.select.replaceChildren(...this.list.map((p) => h('option', { value: String(p.id) }, p.name)));
    if (this.list.length === 0) {
      this.select.append(h('option', { value: '' }, 'No portfolios'));
      this.current = null;
      this.clearNumbers();
      this.transactions.setPortfolio(null);
      this.csvImport.setPortfolio(null);
      return;
    }
    const remembered = Number(localStorage.getItem(SELECTED_KEY));
    const pick = this.list.find((p) => p.id === remembered) ?? this.list[0]!;
    await this.open(pick.id);
  }

  /** Logged out: forget everything portfolio-related. */
  hide(): void {
    this.anon.hidden = false;
    this.body.hidden = true;
    this.current = null;
    this.list = [];
    this.select.replaceChildren();
    this.rows.clear();
    this.tbody.replaceChildren();
    this.clearNumbers();
    this.transactions.setPortfolio(null);
    this.csvImport.setPortfolio(null);
    void this.client.clearPortfolios();
    void this.market.need('positions', []).catch(() => undefined);
  }

  async open(id: number): Promise<void> {
    const target = this.list.find((p) => p.id === id);
    if (!target) return;
    const previous = this.current;
    this.current = target;
    this.select.value = String(id);
    localStorage.setItem(SELECTED_KEY, String(id));
    if (previous && previous.id !== id) {
      this.clearNumbers();
      void this.client.unsubscribePortfolio(previous.id).catch(() => undefined);
    }
    this.transactions.setPortfolio(id, target.name);
    this.csvImport.setPortfolio(id);
    this.subscribe(id);
    await this.reload();
  }

  /** Subscribes to the portfolio's updates, with the intraday series while the chart shows 1D. */
  private subscribe(id: number): void {
    this.client.subscribePortfolio(id, this.range === '1d' ? { series: '1d' } : {}).catch((err: unknown) => {
      if (err instanceof RealtimeError && !['NOT_CONNECTED', 'DISCONNECTED', 'TIMEOUT'].includes(err.code)) notify(`Live updates unavailable: ${err.message}`);
    });
  }

  /** The range switch: remembered, the chart reloaded, the intraday series subscribed to (1D) or not. */
  switchRange(range: string | undefined): void {
    if (!isChartRange(range) || range === this.range) return;
    const was = this.range;
    this.range = range;
    localStorage.setItem(RANGE_KEY, range);
    this.renderRange();
    if (!this.current) return;
    if (range === '1d' || was === '1d') this.subscribe(this.current.id);
    void this.loadChart(this.current.id);
  }

  private renderRange(): void {
    for (const b of this.rangeButtons) b.setAttribute('aria-pressed', String(b.dataset.range === this.range));
    setText(this.basis, RANGE_BASIS[this.range]);
    this.basis.dataset.range = this.range;
    $('#pf-chart').setAttribute('aria-label', RANGE_LABEL[this.range]);
  }

  private valueChart(): ValueChart {
    return (this.chart ??= new ValueChart($('#pf-chart')));
  }

  /** The chart's data for its range: GET …/history?range= (1D: its intraday series, unless a portfolio_series came meanwhile). */
  private async loadChart(id: number): Promise<void> {
    const mine = ++this.chartSeq;
    const range = this.range;
    const seriesBefore = this.seriesCount;
    const chart = this.valueChart();
    chart.setRange(range);
    try {
      const history = await rest.portfolioHistory(id, range);
      if (mine !== this.chartSeq || this.current?.id !== id || this.range !== range) return;
      if (range === '1d') {
        if (this.seriesCount === seriesBefore) chart.setIntraday(history.intraday ?? []);
      } else chart.setHistory(range, history.points);
    } catch (err) {
      if (mine === this.chartSeq) notify(`Could not load the value chart: ${(err as Error).message}`);
    }
  }

  /** Fetches the positions (and the valuation, unless a live update came meanwhile). */
  async reload(): Promise<void> {
    const p = this.current;
    if (!p) return;
    const mine = ++this.loadSeq;
    const startedAt = performance.now();
    try {
      const detail = await rest.portfolio(p.id);
      if (mine !== this.loadSeq || this.current?.id !== p.id) return;
      p.base_currency = detail.base_currency;
      if (this.lastUpdateAt < startedAt) {
        this.renderValuation({
          portfolio_id: p.id,
          name: detail.name,
          total_value: Number(detail.total_value),
          daily_change: Number(detail.daily_change),
          daily_change_percent: Number(detail.daily_change_percent),
          positions_count: detail.positions_count,
          as_of: detail.as_of ?? new Date().toISOString(),
          stale: detail.stale,
          seq: 0,
        });
      }
      this.renderPositions(detail.positions);
      void this.loadPerformance(p.id);
      void this.transactions.load();
      await this.market
        .need(
          'positions',
          detail.positions.map((x) => x.symbol),
        )
        .catch(() => undefined);
    } catch (err) {
      if (mine === this.loadSeq) notify(`Could not load the portfolio: ${(err as Error).message}`);
    }
  }

  /** The month's returns (GET …/performance) and the value chart (its range); after every reload (a position changed). */
  private async loadPerformance(id: number): Promise<void> {
    const mine = ++this.perfSeq;
    void this.loadChart(id);
    try {
      const perf = await rest.portfolioPerformance(id, '1m');
      if (mine !== this.perfSeq || this.current?.id !== id) return;
      const pct = (v: string | null) => (v === null ? '—' : formatPercent(Number(v) * 100));
      const signed = (el: HTMLElement, v: string) => {
        el.className = `num ${signClass(Number(v))}`;
        setText(el, formatSignedMoney(Number(v), this.currency));
      };
      this.twr.className = `num ${signClass(Number(perf.time_weighted_return))}`;
      setText(this.twr, pct(perf.time_weighted_return));
      // XIRR is an annual rate: over a month it is shown for the month, (1 + r)^(days / 365) − 1, like the time-weighted one.
      const days = (Date.parse(perf.to) - Date.parse(perf.from)) / 86_400_000 + 1;
      const mwr = perf.money_weighted_return === null ? null : String(Math.pow(1 + Number(perf.money_weighted_return), days / 365) - 1);
      this.mwr.className = `num ${mwr === null ? '' : signClass(Number(mwr))}`;
      setText(this.mwr, pct(mwr));
      signed(this.unrealisedPl, perf.unrealised_pl);
      signed(this.realisedPl, perf.realised_pl);
      setText(this.dividends, formatMoney(Number(perf.dividends), this.currency));
      setText(this.cash, formatMoney(Number(perf.cash), this.currency));
      this.allocation.set(perf.allocation, this.currency);
    } catch (err) {
      if (mine === this.perfSeq) notify(`Could not load the performance: ${(err as Error).message}`);
    }
  }

  private get currency(): string {
    return this.current?.base_currency || 'USD';
  }

  private clearNumbers(): void {
    this.lastTotal = undefined;
    this.lastUpdateAt = 0;
    setText(this.total, '—');
    setText(this.change, '—');
    setText(this.pct, '');
    setText(this.count, '—');
    setText(this.asOf, '');
    this.stale.hidden = true;
    for (const el of [this.twr, this.mwr, this.unrealisedPl, this.realisedPl, this.dividends]) setText(el, '—');
    this.chart?.clear();
    this.allocation.clear();
  }

  private renderValuation(u: PortfolioUpdateData): void {
    if (!this.current || u.portfolio_id !== this.current.id) return;
    const changed = setText(this.total, formatMoney(u.total_value, this.currency));
    if (changed && this.lastTotal !== undefined && u.total_value !== this.lastTotal) flash(this.total, u.total_value > this.lastTotal ? 'up' : 'down');
    this.lastTotal = u.total_value;
    const cls = signClass(u.daily_change);
    this.change.className = cls;
    this.pct.className = `kpi-sub ${cls}`;
    setText(this.change, formatSignedMoney(u.daily_change, this.currency));
    setText(this.pct, `(${formatPercent(u.daily_change_percent)})`);
    setText(this.count, String(u.positions_count));
    setText(this.asOf, `as of ${formatClock(u.as_of)}`);
    this.stale.hidden = !u.stale;
    this.total.dataset.seq = String(u.seq);
  }

  // ---------------------------------------------------------------- positions table

  private renderPositions(positions: PositionJson[]): void {
    const sorted = [...positions].sort((a, b) => a.symbol.localeCompare(b.symbol));
    this.rows.clear();
    this.tbody.replaceChildren(...sorted.map((p) => this.buildRow(p).tr));
    this.empty.hidden = sorted.length > 0;
  }

  private buildRow(position: PositionJson): Row {
    const info = this.catalog().get(position.symbol);
    const type = position.asset_type || info?.asset_type;
    const price = h('span', { class: 'cell' }, '—');
    const value = h('span', { class: 'cell' }, '—');
    const day = h('td', { class: 'r num', 'data-col': 'day' }, '—');
    const sub = h('div', { class: 'sub show-sm num' }, formatQuantity(position.quantity));
    const pnl = h('td', { class: 'r num hide-sm', 'data-col': 'pnl' }, '—');
    const tr = h(
      'tr',
      { 'data-symbol': position.symbol, 'data-position-id': String(position.id), 'data-testid': 'position-row' },
      h('td', {}, h('div', { class: 'sym' }, position.symbol), h('div', { class: 'name hide-sm' }, position.name || info?.name || ''), sub),
      h('td', { class: 'r num hide-sm', 'data-col': 'quantity' }, formatQuantity(position.quantity)),
      h('td', { class: 'r num hide-sm', 'data-col': 'cost' }, formatPrice(Number(position.average_cost), type)),
      h('td', { class: 'r num hide-sm', 'data-col': 'price' }, price),
      h('td', { class: 'r num', 'data-col': 'value' }, value),
      day,
      pnl,
      h('td', { class: 'actions' }, this.editButton(position)),
    );
    const row: Row = { position, tr, price, sub, value, day, pnl, editing: false };
    this.rows.set(position.id, row);
    const q = this.market.quotes.get(position.symbol);
    if (q) this.renderRowPrice(row, q);
    else if (position.current_price !== null) {
      const price = Number(position.current_price);
      const prev = position.previous_close === null ? price : Number(position.previous_close);
      this.renderRowPrice(row, { price, change: price - prev });
    }
    return row;
  }

  private editButton(position: PositionJson): HTMLElement {
    const b = h('button', { class: 'btn small', type: 'button', 'data-testid': 'edit-position' }, 'Edit');
    b.addEventListener('click', () => this.startEdit(position.id));
    return b;
  }

  private applyPrices(batch: Map<string, AssetUpdateData>): void {
    for (const row of this.rows.values()) {
      const u = batch.get(row.position.symbol);
      if (u) this.renderRowPrice(row, u);
    }
  }

  private renderRowPrice(row: Row, u: Pick<AssetUpdateData, 'price' | 'change'>): void {
    const type = row.position.asset_type || this.catalog().get(row.position.symbol)?.asset_type;
    setText(row.price, formatPrice(u.price, type));
    setText(row.sub, `${formatQuantity(row.position.quantity)} × ${formatPrice(u.price, type)}`);
    const qty = new Decimal(row.position.quantity);
    const value = qty.times(u.price).toFixed(2);
    // A position's own figures are in its asset's currency (the totals are in the portfolio's base currency).
    const currency = row.position.currency || this.currency;
    if (setText(row.value, formatMoney(value, currency)) && row.lastValue !== undefined && value !== row.lastValue) {
      flash(row.value, new Decimal(value).gt(row.lastValue) ? 'up' : 'down');
    }
    row.lastValue = value;
    const day = qty.times(u.change);
    row.day.className = `r num ${signClass(day.toNumber())}`;
    setText(row.day, formatSignedMoney(day.toFixed(2), currency));
    const pnl = new Decimal(u.price).minus(row.position.average_cost).times(qty);
    row.pnl.className = `r num hide-sm ${signClass(pnl.toNumber())}`;
    setText(row.pnl, formatSignedMoney(pnl.toFixed(2), currency));
  }

  private startEdit(id: number): void {
    const row = this.rows.get(id);
    if (!row || row.editing || !this.current) return;
    row.editing = true;
    const qtyCell = row.tr.querySelector<HTMLElement>('[data-col="quantity"]')!;
    const costCell = row.tr.querySelector<HTMLElement>('[data-col="cost"]')!;
    const actions = row.tr.querySelector<HTMLElement>('.actions')!;
    const qty = h('input', { value: row.position.quantity, inputmode: 'decimal', 'aria-label': 'Quantity', 'data-testid': 'edit-quantity' });
    const cost = h('input', { value: row.position.average_cost, inputmode: 'decimal', 'aria-label': 'Average cost', 'data-testid': 'edit-cost' });
    qtyCell.classList.remove('hide-sm');
    costCell.classList.remove('hide-sm');
    qtyCell.replaceChildren(qty);
    costCell.replaceChildren(cost);
    const save = h('button', { class: 'btn small primary', type: 'button', 'data-testid': 'save-position' }, 'Save');
    const del = h('button', { class: 'icon-btn', type: 'button', title: 'Delete position', 'aria-label': 'Delete position' }, '🗑');
    const cancel = h('button', { class: 'icon-btn', type: 'button', title: 'Cancel', 'aria-label': 'Cancel' }, '×');
    actions.replaceChildren(save, del, cancel);
    qty.focus();
    qty.select();
    const finish = () => void this.reload();
    const doSave = async () => {
      const q = qty.value.trim();
      const c = cost.value.trim();
      if (!validPositive(q) || !validNonNegative(c)) {
        notify('Quantity must be a positive number and cost a number ≥ 0');
        return;
      }
      save.disabled = true;
      try {
        await rest.updatePosition(this.current!.id, id, { quantity: q, average_cost: c });
        notify(`${row.position.symbol} updated`);
        finish();
      } catch (err) {
        save.disabled = false;
        notify(err instanceof ApiError ? err.message : String(err));
      }
    };
    save.addEventListener('click', () => void doSave());
    for (const input of [qty, cost]) {
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') void doSave();
        if (ev.key === 'Escape') finish();
      });
    }
    cancel.addEventListener('click', finish);
    let armed = false;
    del.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        del.textContent = 'Sure?';
        del.classList.replace('icon-btn', 'btn');
        del.classList.add('small');
        setTimeout(() => {
          armed = false;
          del.textContent = '🗑';
          del.className = 'icon-btn';
        }, 3000);
        return;
      }
      try {
        await rest.deletePosition(this.current!.id, id);
        notify(`${row.position.symbol} removed`);
        finish();
      } catch (err) {
        notify(err instanceof ApiError ? err.message : String(err));
      }
    });
  }

  private async submitNew(): Promise<void> {
    if (!this.current) return;
    const data = new FormData(this.form);
    const symbol = String(data.get('symbol') ?? '')
      .trim()
      .toUpperCase();
    const quantity = String(data.get('quantity') ?? '').trim();
    const cost = String(data.get('average_cost') ?? '').trim();
    setText(this.formError, '');
    if (!symbol) return this.fail('Pick a symbol');
    if (!validPositive(quantity)) return this.fail('Quantity must be a positive number');
    if (!validNonNegative(cost)) return this.fail('Average cost must be a number ≥ 0');
    const button = this.form.querySelector('button')!;
    button.disabled = true;
    try {
      await rest.addPosition(this.current.id, { symbol, quantity, average_cost: cost });
      this.form.reset();
      notify(`Added ${formatQuantity(quantity)} ${symbol}`);
      await this.reload();
    } catch (err) {
      this.fail(err instanceof ApiError ? err.message : String(err));
    } finally {
      button.disabled = false;
    }
  }

  private fail(message: string): void {
    setText(this.formError, message);
  }
}

function validPositive(s: string): boolean {
  return DECIMAL_RE.test(s) && new Decimal(s).gt(0);
}
function validNonNegative(s: string): boolean {
  return DECIMAL_RE.test(s);
}
