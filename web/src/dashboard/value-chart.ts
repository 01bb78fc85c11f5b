import { AreaSeries, ColorType, createChart, CrosshairMode, type IChartApi, type ISeriesApi, type Time, type UTCTimestamp } from 'lightweight-charts';
import type { PortfolioHistoryPoint, PortfolioIntradayPoint } from '../../../client';

const DAY_S = 86_400;

/** The ranges of the value chart's switch: 1D is the intraday series (positions only), the others daily points (with cash). */
export const CHART_RANGES = ['1d', '1w', '1m', '1y', 'all'] as const;
export type ChartRange = (typeof CHART_RANGES)[number];

export function isChartRange(s: unknown): s is ChartRange {
  return typeof s === 'string' && (CHART_RANGES as readonly string[]).includes(s);
}

interface Point {
  time: UTCTimestamp;
  value: number;
}

// Explicit locale: navigator.language may be an invalid tag (headless Chromium under the C locale), see sparkline.ts.
const CLOCK = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const CLOCK_FULL = new Intl.DateTimeFormat('en-US', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
const DATE = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });

const seconds = (t: Time) => (typeof t === 'number' ? t : Number.NaN);

/**
 * The portfolio's value (lightweight-charts) over the range picked in the switch:
 * - 1W, 1M, 1Y, ALL: one point per day from GET /api/portfolios/:id/history (holdings + cash),
 *   today's point moved by every live portfolio_update (holdings at live prices + today's cash);
 * - 1D: the intraday series (holdings only, the same number as portfolio_update.total_value), from
 *   GET …/history?range=1d or the realtime `portfolio_series`, grown by `portfolio_point`, with a
 *   live point after the last recorded one that follows every portfolio_update. A time axis (local time).
 * The container says what it shows: data-range, data-axis (time | date), data-points (the points passed
 * to the chart), data-last (the last live value drawn) and data-state (loading | loaded).
 */
export class ValueChart {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Area'>;
  private range: ChartRange | null = null;
  /** Daily points, or the recorded intraday points (1D). */
  private points: Point[] = [];
  /** 1D: the live point after the last recorded one. */
  private tail: Point | null = null;
  private cash = 0;

  constructor(private readonly container: HTMLElement) {
    this.chart = createChart(container, {
      autoSize: true,
      localization: { locale: 'en-US', timeFormatter: (t: Time) => this.formatTime(t) },
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#98a2b3', fontSize: 10, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: '#eef0f3' } },
      rightPriceScale: { borderVisible: false, scaleMargins: { top: 0.15, bottom: 0.1 } },
      timeScale: {
        borderVisible: false,
        fixLeftEdge: true,
        fixRightEdge: true,
        tickMarkFormatter: (t: Time) => (this.range === '1d' ? CLOCK.format(seconds(t) * 1000) : null),
      },
      crosshair: { mode: CrosshairMode.Magnet },
      handleScroll: false,
      handleScale: false,
    });
    this.series = this.chart.addSeries(AreaSeries, {
      lineWidth: 2,
      lineColor: '#2f6fed',
      topColor: 'rgba(47, 111, 237, 0.18)',
      bottomColor: 'rgba(47, 111, 237, 0.02)',
      priceLineVisible: false,
    });
  }

  /** Switches the range: the chart empties until setHistory() / setIntraday() gives it that range's data. */
  setRange(range: ChartRange): void {
    if (range === this.range) return;
    this.range = range;
    this.chart.applyOptions({ timeScale: { timeVisible: range === '1d', secondsVisible: false } });
    this.clear();
  }

  /** Daily points (value includes cash); today's cash (the last point's) is added to live holdings values. */
  setHistory(range: Exclude<ChartRange, '1d'>, points: readonly PortfolioHistoryPoint[]): void {
    this.setRange(range);
    this.cash = Number(points.at(-1)?.cash ?? 0) || 0;
    // Days before the first transaction (value 0) are left out: the chart starts where the portfolio does.
    const first = points.findIndex((p) => Number(p.value) !== 0);
    this.points = (first < 0 ? [] : points.slice(first)).map((p) => ({
      time: (Date.parse(`${p.date}T00:00:00Z`) / 1000) as UTCTimestamp,
      value: Number(p.value),
    }));
    this.tail = null;
    this.draw(true);
  }

  /** The intraday series (1D; replaces the one shown, e.g. after a reconnect). A live point newer than its last is kept. */
  setIntraday(points: readonly PortfolioIntradayPoint[]): void {
    this.setRange('1d');
    const byTime = new Map<number, Point>();
    for (const p of points) {
      const point = intradayPoint(p);
      if (point) byTime.set(point.time, point);
    }
    const sorted = [...byTime.values()].sort((a, b) => a.time - b.time);
    // As with the daily points: the chart starts where the portfolio has a value (not at an empty portfolio's 0).
    const first = sorted.findIndex((p) => p.value !== 0);
    this.points = first < 0 ? [] : sorted.slice(first);
    this.draw(true);
  }

  /** A point just recorded in the intraday series (1D). */
  addIntraday(p: PortfolioIntradayPoint): void {
    if (this.range !== '1d') return;
    const point = intradayPoint(p);
    if (!point || (point.value === 0 && this.points.length === 0)) return;
    let i = this.points.length - 1;
    while (i >= 0 && this.points[i]!.time > point.time) i--;
    if (i >= 0 && this.points[i]!.time === point.time) this.points[i] = point;
    else this.points.splice(i + 1, 0, point);
    this.draw(false);
  }

  /** A live valuation (holdings only): 1D, the live point after the recorded ones; else today's point becomes holdings + cash. */
  live(totalValue: number, asOf: string): void {
    const at = Math.floor(Date.parse(asOf) / 1000);
    if (!Number.isFinite(at) || !Number.isFinite(totalValue)) return;
    if (this.range === '1d') {
      if (this.container.dataset.state !== 'loaded') return;
      const point = { time: at as UTCTimestamp, value: totalValue };
      if (this.tail && point.time < this.tail.time) return;
      this.tail = point;
      this.draw(false);
      this.container.dataset.last = String(point.value);
      return;
    }
    if (this.points.length === 0) return;
    const day = (Math.floor(at / DAY_S) * DAY_S) as UTCTimestamp;
    const last = this.points.at(-1)!;
    if (day < last.time) return;
    const point = { time: day, value: totalValue + this.cash };
    if (day === last.time) this.points[this.points.length - 1] = point;
    else this.points.push(point);
    this.series.update(point);
    this.container.dataset.points = String(this.points.length);
    this.container.dataset.last = String(point.value);
  }

  clear(): void {
    this.points = [];
    this.tail = null;
    this.series.setData([]);
    this.container.dataset.points = '0';
    this.container.dataset.state = 'loading';
    delete this.container.dataset.last;
    if (this.range) {
      this.container.dataset.range = this.range;
      this.container.dataset.axis = this.range === '1d' ? 'time' : 'date';
    }
  }

  /** The points passed to the chart: the recorded / daily ones, then (1D) the live point if newer than the last of them. */
  private shown(): Point[] {
    const last = this.points.at(-1);
    if (this.tail && (!last || this.tail.time > last.time)) return [...this.points, this.tail];
    return this.points;
  }

  private draw(fit: boolean): void {
    const data = this.shown();
    this.series.setData(data);
    if (fit || this.range === '1d') this.chart.timeScale().fitContent();
    this.container.dataset.points = String(data.length);
    this.container.dataset.state = 'loaded';
    this.container.dataset.range = this.range ?? '';
    this.container.dataset.axis = this.range === '1d' ? 'time' : 'date';
  }

  private formatTime(t: Time): string {
    const s = seconds(t);
    if (!Number.isFinite(s)) return String(t);
    return this.range === '1d' ? CLOCK_FULL.format(s * 1000) : DATE.format(s * 1000);
  }
}

function intradayPoint(p: PortfolioIntradayPoint): Point | null {
  const time = Math.floor(Date.parse(p.t) / 1000);
  const value = Number(p.value);
  return Number.isFinite(time) && Number.isFinite(value) ? { time: time as UTCTimestamp, value } : null;
}
