import { Injectable, Logger } from '@nestjs/common';
import type { AssetType } from '../../assets/entities/asset.entity';
import { AppConfig } from '../../config/app-config';
import { utcDay } from './simulated.provider';
import { DailyBar, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { VendorClient } from './vendor-client';
import { VendorClientFactory } from './vendor-client.factory';
import { VendorFormatError, VendorQuotaError, VendorRequestError } from './vendor.errors';
import { stopsBatch } from './vendor.util';

type AvBody = Record<string, unknown>;

/**
 * Alpha Vantage: GLOBAL_QUOTE (one request per symbol) and TIME_SERIES_DAILY.
 * Its quota answers arrive as HTTP 200 with a "Note" or "Information" field;
 * bad symbols as "Error Message" or an empty "Global Quote". The free tier is
 * 5 requests a minute and 25 a day (ALPHAVANTAGE_RATE_PER_MINUTE / _PER_DAY):
 * when the bucket is empty the remaining symbols go to the next provider.
 */
@Injectable()
export class AlphaVantageProvider implements PriceProvider {
  readonly name = 'alphavantage';
  readonly assetTypes: readonly AssetType[] = ['STOCK', 'ETF', 'FUND'];
  private readonly logger = new Logger('AlphaVantageProvider');
  readonly http: VendorClient;

  constructor(
    private readonly config: AppConfig,
    factory: VendorClientFactory,
  ) {
    this.http = factory.create(this.name, { perMinute: config.ALPHAVANTAGE_RATE_PER_MINUTE, perDay: config.ALPHAVANTAGE_RATE_PER_DAY });
  }

  private async call(params: Record<string, string>): Promise<AvBody> {
    if (!this.config.ALPHAVANTAGE_API_KEY) throw new VendorRequestError(this.name, 'ALPHAVANTAGE_API_KEY is not set');
    const url = new URL('/query', this.config.ALPHAVANTAGE_BASE_URL);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    url.searchParams.set('apikey', this.config.ALPHAVANTAGE_API_KEY);
    const { body } = await this.http.getJson(url);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new VendorFormatError(this.name, 'answer is not a JSON object');
    const b = body as AvBody;
    const quota = b['Note'] ?? b['Information'];
    if (typeof quota === 'string') throw new VendorQuotaError(this.name, quota);
    if (typeof b['Error Message'] === 'string') throw new VendorRequestError(this.name, b['Error Message']);
    return b;
  }

  async getQuotes(assets: ProviderAsset[]): Promise<RawQuote[]> {
    const out: RawQuote[] = [];
    let firstErr: Error | undefined;
    for (const a of assets) {
      try {
        const q = await this.quote(a);
        if (q) out.push(q);
      } catch (err) {
        firstErr ??= err as Error;
        if (stopsBatch(err)) break;
        this.logger.warn(`${a.symbol}: ${(err as Error).message}`);
      }
    }
    if (out.length === 0 && firstErr) throw firstErr;
    return out;
  }

  private async quote(a: ProviderAsset): Promise<RawQuote | null> {
    const b = await this.call({ function: 'GLOBAL_QUOTE', symbol: a.symbol });
    const g = b['Global Quote'];
    if (!g || typeof g !== 'object') throw new VendorFormatError(this.name, '"Global Quote" missing');
    const q = g as Record<string, string | undefined>;
    if (Object.keys(q).length === 0) return null; // unknown symbol
    const price = q['05. price'];
    const day = q['07. latest trading day'];
    if (price === undefined || !day || !/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new VendorFormatError(this.name, `GLOBAL_QUOTE for ${a.symbol} lacks price or trading day`);
    return {
      symbol: a.symbol,
      price,
      previous_close: q['08. previous close'],
      high: q['03. high'],
      low: q['04. low'],
      volume: q['06. volume'],
      as_of: AlphaVantageProvider.asOf(day),
      source: this.name,
    };
  }

  /**
   * GLOBAL_QUOTE dates its quote by trading day only: a quote for today is as of
   * now; one for an earlier day is as of that day's US close (21:00 UTC).
   */
  static asOf(tradingDay: string, now: Date = new Date()): Date {
    if (tradingDay >= utcDay(now)) return now;
    return new Date(`${tradingDay}T21:00:00Z`);
  }

  async getDailyHistory(asset: ProviderAsset, days: number): Promise<DailyBar[]> {
    const b = await this.call({ function: 'TIME_SERIES_DAILY', symbol: asset.symbol, outputsize: days > 100 ? 'full' : 'compact' });
    const series = b['Time Series (Daily)'];
    if (!series || typeof series !== 'object') throw new VendorFormatError(this.name, '"Time Series (Daily)" missing');
    // The last `days` calendar days of what the vendor has (up to its last trading day), never today's unfinished bar.
    const today = utcDay(new Date());
    const dates = Object.keys(series).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d) && d < today);
    const last = dates.sort().at(-1);
    if (!last) return [];
    const since = utcDay(new Date(Date.parse(`${last}T00:00:00Z`) - (days - 1) * 86_400_000));
    const bars: DailyBar[] = [];
    for (const [date, v] of Object.entries(series as Record<string, Record<string, string>>)) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || date < since || date >= today) continue;
      const open = v?.['1. open'];
      const high = v?.['2. high'];
      const low = v?.['3. low'];
      const close = v?.['4. close'];
      if (open === undefined || high === undefined || low === undefined || close === undefined) {
        throw new VendorFormatError(this.name, `daily bar ${date} incomplete`);
      }
      bars.push({ date, open, high, low, close, volume: v['5. volume'] ?? null });
    }
    return bars.sort((x, y) => x.date.localeCompare(y.date));
  }
}
