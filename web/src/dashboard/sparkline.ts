import { BaselineSeries, ColorType, createChart, CrosshairMode, LineType, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { HistoryPoint } from '../shared/api';

const MAX_POINTS = 1500;
const TRIM_TO = 1000;

/**
 * A small live chart (lightweight-charts, bundled): 30 days of daily closes,
 * then every live price. The line is green above the previous close and red
 * below it.
 */
export class Sparkline {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Baseline'>;
  private points: { time: UTCTimestamp; value: number }[] = [];
  private seeded = false;
  private early: { time: UTCTimestamp; value: number }[] = [];
  private baseline: number | null = null;

  constructor(container: HTMLElement) {
    this.chart = createChart(container, {
      autoSize: true,
      // The page formats everything as en-US; the library would otherwise use navigator.language, which
      // some browsers report as an invalid tag (headless Chromium under the C locale: "en-US@posix").
      localization: { locale: 'en-US' },
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#98a2b3', fontSize: 10, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { visible: false } },
      rightPriceScale: { visible: false, scaleMargins: { top: 0.12, bottom: 0.08 } },
      leftPriceScale: { visible: false },
      timeScale: { visible: false, borderVisible: false, rightOffset: 0, fixLeftEdge: true, fixRightEdge: true },
      crosshair: { mode: CrosshairMode.Magnet, vertLine: { labelVisible: false, color: '#d0d5dd' }, horzLine: { visible: false, labelVisible: false } },
      handleScroll: false,
      handleScale: false,
    });
    this.series = this.chart.addSeries(BaselineSeries, {
      lineWidth: 2,
      lineType: LineType.Simple,
      topLineColor: '#12875a',
      topFillColor1: 'rgba(18, 135, 90, 0.18)',
      topFillColor2: 'rgba(18, 135, 90, 0.02)',
      bottomLineColor: '#d0343a',
      bottomFillColor1: 'rgba(208, 52, 58, 0.02)',
      bottomFillColor2: 'rgba(208, 52, 58, 0.18)',
      priceLineVisible: false,
      lastValueVisible: false,
      crosshairMarkerRadius: 3,
    });
  }

  /** Daily history; live points that arrived before it are kept if newer. */
  setHistory(history: HistoryPoint[]): void {
    const pts = history.map((p) => ({ time: p.time as UTCTimestamp, value: p.close }));
    const last = pts.at(-1)?.time ?? 0;
    for (const e of this.early) if (e.time > last) pts.push(e);
    this.early = [];
    this.points = dedupe(pts);
    this.seeded = true;
    if (this.baseline === null && this.points.length > 0) this.setBaseline(this.points[0]!.value);
    this.series.setData(this.points);
    this.chart.timeScale().fitContent();
  }

  /** One live price at `asOf` (ISO time); older than the last point: ignored. */
  push(price: number, asOf: string, previousClose: number | null): void {
    if (previousClose !== null && previousClose !== this.baseline) this.setBaseline(previousClose);
    const parsed = Math.floor(new Date(asOf).getTime() / 1000);
    const time = (Number.isFinite(parsed) ? parsed : Math.floor(Date.now() / 1000)) as UTCTimestamp;
    const point = { time, value: price };
    if (!this.seeded) {
      const last = this.early.at(-1);
      if (last && time < last.time) return;
      if (last && time === last.time) this.early[this.early.length - 1] = point;
      else this.early.push(point);
      if (this.early.length > TRIM_TO) this.early.splice(0, this.early.length - TRIM_TO);
      return;
    }
    const last = this.points.at(-1);
    if (last && time < last.time) return;
    if (last && time === last.time) this.points[this.points.length - 1] = point;
    else this.points.push(point);
    if (this.points.length > MAX_POINTS) {
      this.points = this.points.slice(-TRIM_TO);
      this.series.setData(this.points);
      this.chart.timeScale().fitContent();
      return;
    }
    this.series.update(point);
    this.chart.timeScale().fitContent();
  }

  private setBaseline(value: number): void {
    this.baseline = value;
    this.series.applyOptions({ baseValue: { type: 'price', price: value } });
  }

  destroy(): void {
    this.chart.remove();
  }
}

function dedupe(pts: { time: UTCTimestamp; value: number }[]): { time: UTCTimestamp; value: number }[] {
  const out: { time: UTCTimestamp; value: number }[] = [];
  for (const p of pts) {
    const last = out.at(-1);
    if (last && p.time < last.time) continue;
    if (last && p.time === last.time) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}
