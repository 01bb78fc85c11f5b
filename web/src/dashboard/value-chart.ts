import { AreaSeries, ColorType, createChart, CrosshairMode, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { PortfolioHistoryPoint } from '../../../client';

const DAY_S = 86_400;

/**
 * The portfolio's value over the last month (lightweight-charts): one point per day from
 * GET /api/portfolios/:id/history, today's point moved by every live portfolio_update
 * (holdings at live prices + the cash the history reported).
 */
export class ValueChart {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Area'>;
  private points: { time: UTCTimestamp; value: number }[] = [];
  private cash = 0;

  constructor(private readonly container: HTMLElement) {
    this.chart = createChart(container, {
      autoSize: true,
      localization: { locale: 'en-US' },
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#98a2b3', fontSize: 10, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: '#eef0f3' } },
      rightPriceScale: { borderVisible: false, scaleMargins: { top: 0.15, bottom: 0.1 } },
      timeScale: { borderVisible: false, fixLeftEdge: true, fixRightEdge: true },
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

  /** The daily history (value includes cash); `cash` is today's cash, added to live holdings values. */
  setHistory(points: readonly PortfolioHistoryPoint[], cash: number): void {
    this.cash = cash;
    // Days before the first transaction (value 0) are left out: the chart starts where the portfolio does.
    const first = points.findIndex((p) => Number(p.value) !== 0);
    this.points = (first < 0 ? [] : points.slice(first)).map((p) => ({
      time: (Date.parse(`${p.date}T00:00:00Z`) / 1000) as UTCTimestamp,
      value: Number(p.value),
    }));
    this.series.setData(this.points);
    this.chart.timeScale().fitContent();
    this.container.dataset.points = String(this.points.length);
  }

  /** A live valuation (holdings only): today's point becomes holdings + cash. */
  live(totalValue: number, asOf: string): void {
    if (this.points.length === 0) return;
    const day = (Math.floor(Date.parse(asOf) / 1000 / DAY_S) * DAY_S) as UTCTimestamp;
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
    this.series.setData([]);
    this.container.dataset.points = '0';
  }
}
