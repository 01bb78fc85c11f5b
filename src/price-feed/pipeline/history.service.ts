import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { D, Dec } from '../../common/decimal';
import { trimZeros } from '../../database/decimal.transformer';
import { feedMetrics } from '../metrics';
import { utcDay } from '../providers/simulated.provider';
import type { DailyBar, ProviderAsset } from '../providers/price-provider.interface';
import { ProviderRouter } from '../providers/provider-router.service';
import { PriceBatchWriter } from './price-batch.writer';
import { PricePipeline } from './price-pipeline.service';

export interface CleanBar {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string | null;
}

export interface HistoryResult {
  symbol: string;
  status: 'updated' | 'valid' | 'unpriced' | 'unknown' | 'failed';
  fetched: number;
  stored: number;
  rejected: number;
  /** Close of the most recent bar. */
  price: string | null;
  source: string | null;
  detail?: string;
}

function num(v: number | string | null | undefined): Dec | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  if (typeof v === 'string' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return null;
  const d = new D(typeof v === 'number' ? String(v) : v.trim());
  return d.isFinite() ? d : null;
}

/** Daily bars pass the same rules as quotes: finite, positive, high ≥ low (and the range holds open and close), not in the future. */
function validateBars(bars: DailyBar[], today: string = utcDay(new Date())): { clean: CleanBar[]; rejected: number } {
  const clean = new Map<string, CleanBar>();
  let rejected = 0;
  for (const b of bars) {
    const [o, h, l, c] = [num(b.open), num(b.high), num(b.low), num(b.close)];
    const vol = b.volume === null || b.volume === undefined ? null : num(b.volume);
    const ok =
      /^\d{4}-\d{2}-\d{2}$/.test(b.date) &&
      b.date < today &&
      o &&
      h &&
      l &&
      c &&
      o.gt(0) &&
      h.gt(0) &&
      l.gt(0) &&
      c.gt(0) &&
      h.gte(l) &&
      h.gte(D.max(o, c)) &&
      l.lte(D.min(o, c)) &&
      h.lt('1e16') &&
      (b.volume === null || b.volume === undefined || (vol !== null && vol.gte(0) && vol.lt('1e20')));
    if (!ok) {
      rejected++;
      continue;
    }
    const f = (d: Dec) => d.toDecimalPlaces(8).toFixed();
    clean.set(b.date, { date: b.date, open: f(o!), high: f(h!), low: f(l!), close: f(c!), volume: vol ? f(vol) : null });
  }
  if (rejected) feedMetrics.quotesRejected.inc({ reason: 'bad_daily_bar', source: 'history' }, rejected);
  return { clean: [...clean.values()].sort((a, b) => a.date.localeCompare(b.date)), rejected };
}

/** Daily ('1d') history: on-demand updates, backfill of assets without any, and bars built from the day's ticks. */
@Injectable()
export class HistoryService {
  private readonly logger = new Logger('PriceHistory');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly router: ProviderRouter,
    private readonly writer: PriceBatchWriter,
    private readonly pipeline: PricePipeline,
  ) {}

  /** Fetches `days` of daily bars per symbol through the provider chains and stores them (unless dryRun). */
  async update(symbols: string[], days: number, opts: { dryRun?: boolean; shouldStop?: () => boolean } = {}): Promise<HistoryResult[]> {
    const assets = await this.pipeline.loadAssets(symbols);
    const out: HistoryResult[] = [];
    for (const symbol of symbols) {
      if (opts.shouldStop?.()) break;
      const asset = assets.get(symbol);
      if (!asset) {
        out.push({ symbol, status: 'unknown', fetched: 0, stored: 0, rejected: 0, price: null, source: null });
        continue;
      }
      out.push(await this.updateOne(asset, days, opts.dryRun ?? false));
    }
    return out;
  }

  private async updateOne(asset: ProviderAsset, days: number, dryRun: boolean): Promise<HistoryResult> {
    const { bars, source, errors } = await this.router.fetchHistory(asset, days);
    if (bars.length === 0) {
      return { symbol: asset.symbol, status: 'unpriced', fetched: 0, stored: 0, rejected: 0, price: null, source: null, detail: errors.join('; ') };
    }
    const { clean, rejected } = validateBars(bars);
    const price = clean.length ? trimZeros(clean[clean.length - 1].close) : null;
    if (dryRun || clean.length === 0) {
      return { symbol: asset.symbol, status: clean.length ? 'valid' : 'failed', fetched: bars.length, stored: 0, rejected, price, source };
    }
    try {
      const stored = await this.writer.writeDaily(asset.symbol, clean);
      return { symbol: asset.symbol, status: 'updated', fetched: bars.length, stored, rejected, price, source };
    } catch (err) {
      return { symbol: asset.symbol, status: 'failed', fetched: bars.length, stored: 0, rejected, price, source, detail: (err as Error).message };
    }
  }

  /** Backfills `days` of daily history for every asset that has no daily row yet; returns how many got some. */
  async backfillMissing(days: number, opts: { signal?: AbortSignal; shouldStop?: () => boolean } = {}): Promise<number> {
    const rows = (await this.db.query(
      `SELECT a.symbol FROM assets a
        WHERE NOT EXISTS (SELECT 1 FROM price_history h WHERE h.asset_id = a.id AND h."interval" = '1d')
        ORDER BY a.symbol`,
    )) as { symbol: string }[];
    if (rows.length === 0) return 0;
    this.logger.log(`Backfilling ${days} days of daily history for ${rows.length} asset(s)`);
    const results = await this.update(
      rows.map((r) => r.symbol),
      days,
      { shouldStop: () => !!opts.signal?.aborted || !!opts.shouldStop?.() },
    );
    return results.filter((r) => r.stored > 0).length;
  }

  /** Turns the ticks of the UTC day before `now` into '1d' bars (existing daily bars are kept). */
  async aggregateDailyFromTicks(now: Date): Promise<number> {
    const end = new Date(`${utcDay(now)}T00:00:00Z`);
    const start = new Date(end.getTime() - 86_400_000);
    const rows = (await this.db.query(
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
       SELECT asset_id, $1::timestamptz, '1d',
              (array_agg(close ORDER BY "timestamp"))[1], max(high), min(low),
              (array_agg(close ORDER BY "timestamp" DESC))[1], max(volume)
         FROM price_history
        WHERE "interval" = 'tick' AND "timestamp" >= $1 AND "timestamp" < $2
        GROUP BY asset_id
       ON CONFLICT (asset_id, "interval", "timestamp") DO NOTHING
       RETURNING 1`,
      [start.toISOString(), end.toISOString()],
    )) as unknown[];
    return rows.length;
  }

  /** Deletes 'tick' rows older than `days` days. */
  async pruneTicks(days: number): Promise<number> {
    const res = (await this.db.query(`DELETE FROM price_history WHERE "interval" = 'tick' AND "timestamp" < now() - make_interval(days => $1::int)`, [
      days,
    ])) as [unknown[], number] | unknown[];
    return Array.isArray(res) && typeof res[1] === 'number' ? res[1] : 0;
  }
}
