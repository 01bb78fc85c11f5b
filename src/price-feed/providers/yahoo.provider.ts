import { Injectable, Logger } from '@nestjs/common';
import type { AssetType } from '../../assets/entities/asset.entity';
import { AppConfig } from '../../config/app-config';
import { utcDay } from './simulated.provider';
import { DailyBar, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { VendorClient } from './vendor-client';
import { VendorClientFactory } from './vendor-client.factory';
import { VendorError, VendorFormatError, VendorRequestError } from './vendor.errors';
import { mapLimited, stopsBatch } from './vendor.util';

type Num = number | null | undefined;

interface YahooQuote {
  symbol?: string;
  regularMarketPrice?: Num;
  regularMarketPreviousClose?: Num;
  regularMarketDayHigh?: Num;
  regularMarketDayLow?: Num;
  regularMarketVolume?: Num;
  regularMarketTime?: Num;
}

interface ChartMeta {
  symbol?: string;
  regularMarketPrice?: Num;
  chartPreviousClose?: Num;
  previousClose?: Num;
  regularMarketDayHigh?: Num;
  regularMarketDayLow?: Num;
  regularMarketVolume?: Num;
  regularMarketTime?: Num;
}

interface ChartResult {
  meta?: ChartMeta;
  timestamp?: number[];
  indicators?: { quote?: Array<{ open?: Num[]; high?: Num[]; low?: Num[]; close?: Num[]; volume?: Num[] }> };
}

interface ChartBody {
  chart?: { result?: ChartResult[] | null; error?: { code?: string; description?: string } | null };
}

/**
 * Yahoo Finance: the v7 quote endpoint for a batch of symbols, falling back to
 * the v8 chart endpoint per symbol when v7 is refused (it asks for a crumb);
 * v8 chart for daily history. Catalog symbols map to Yahoo's: EURUSD → EURUSD=X, BRK.B → BRK-B.
 */
@Injectable()
export class YahooProvider implements PriceProvider {
  readonly name = 'yahoo';
  readonly assetTypes: readonly AssetType[] = ['STOCK', 'ETF', 'FUND', 'BOND', 'CRYPTO', 'FOREX'];
  private readonly logger = new Logger('YahooProvider');
  readonly http: VendorClient;
  private v7Refused = false;

  constructor(
    private readonly config: AppConfig,
    factory: VendorClientFactory,
  ) {
    this.http = factory.create(this.name, { perMinute: config.YAHOO_RATE_PER_MINUTE, perDay: config.YAHOO_RATE_PER_DAY });
  }

  static toVendorSymbol(a: Pick<ProviderAsset, 'symbol' | 'assetType'>): string {
    if (a.assetType === 'FOREX' && /^[A-Z]{6}$/.test(a.symbol)) return `${a.symbol}=X`;
    if (a.assetType === 'CRYPTO') return a.symbol;
    return a.symbol.replace(/\./g, '-');
  }

  async getQuotes(assets: ProviderAsset[]): Promise<RawQuote[]> {
    if (assets.length === 0) return [];
    const byVendor = new Map(assets.map((a) => [YahooProvider.toVendorSymbol(a), a]));
    if (!this.v7Refused) {
      try {
        return await this.quoteV7(byVendor);
      } catch (err) {
        if (!(err instanceof VendorRequestError && (err.status === 401 || err.status === 403 || err.status === 404))) throw err;
        this.v7Refused = true;
        this.logger.log(`v7 quote endpoint refused (${err.message}); using the v8 chart endpoint per symbol`);
      }
    }
    return this.quoteV8(byVendor);
  }

  private async quoteV7(byVendor: Map<string, ProviderAsset>): Promise<RawQuote[]> {
    const url = new URL('/v7/finance/quote', this.config.YAHOO_BASE_URL);
    url.searchParams.set('symbols', [...byVendor.keys()].join(','));
    const { body } = await this.http.getJson(url);
    const result = (body as { quoteResponse?: { result?: unknown } })?.quoteResponse?.result;
    if (!Array.isArray(result)) throw new VendorFormatError(this.name, 'quoteResponse.result missing');
    const out: RawQuote[] = [];
    for (const q of result as YahooQuote[]) {
      const asset = q?.symbol ? byVendor.get(q.symbol) : undefined;
      if (!asset) continue;
      if (q.regularMarketPrice == null || q.regularMarketTime == null) continue;
      out.push({
        symbol: asset.symbol,
        price: q.regularMarketPrice,
        previous_close: q.regularMarketPreviousClose,
        high: q.regularMarketDayHigh,
        low: q.regularMarketDayLow,
        volume: q.regularMarketVolume,
        as_of: new Date(Number(q.regularMarketTime) * 1000),
        source: this.name,
      });
    }
    return out;
  }

  private async quoteV8(byVendor: Map<string, ProviderAsset>): Promise<RawQuote[]> {
    const out: RawQuote[] = [];
    let fatal: VendorError | undefined;
    let firstErr: Error | undefined;
    await mapLimited([...byVendor.entries()], 4, async ([vsym, asset]) => {
      if (fatal) return;
      try {
        const chart = await this.chart(vsym, { range: '1d', interval: '1d' });
        const m = chart?.meta;
        if (!m || m.regularMarketPrice == null || m.regularMarketTime == null) return;
        out.push({
          symbol: asset.symbol,
          price: m.regularMarketPrice,
          previous_close: m.previousClose ?? m.chartPreviousClose,
          high: m.regularMarketDayHigh,
          low: m.regularMarketDayLow,
          volume: m.regularMarketVolume,
          as_of: new Date(Number(m.regularMarketTime) * 1000),
          source: this.name,
        });
      } catch (err) {
        firstErr ??= err as Error;
        if (stopsBatch(err)) fatal = err as VendorError;
        else this.logger.warn(`${asset.symbol}: ${(err as Error).message}`);
      }
    });
    if (out.length === 0 && (fatal ?? firstErr)) throw fatal ?? firstErr;
    return out;
  }

  /** One chart result, or null when Yahoo says it has no data for the symbol. */
  private async chart(vendorSymbol: string, params: Record<string, string>): Promise<ChartResult | null> {
    const url = new URL(`/v8/finance/chart/${encodeURIComponent(vendorSymbol)}`, this.config.YAHOO_BASE_URL);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const { body } = await this.http.getJson(url, { acceptStatus: [404] });
    const chart = (body as ChartBody)?.chart;
    if (!chart || typeof chart !== 'object') throw new VendorFormatError(this.name, 'chart object missing');
    if (chart.error) {
      if (chart.error.code === 'Not Found') return null;
      throw new VendorRequestError(this.name, `${chart.error.code}: ${chart.error.description ?? ''}`);
    }
    if (!Array.isArray(chart.result) || chart.result.length === 0) throw new VendorFormatError(this.name, 'chart.result missing');
    return chart.result[0];
  }

  async getDailyHistory(asset: ProviderAsset, days: number): Promise<DailyBar[]> {
    const now = Math.floor(Date.now() / 1000);
    const chart = await this.chart(YahooProvider.toVendorSymbol(asset), {
      period1: String(now - days * 86_400),
      period2: String(now),
      interval: '1d',
    });
    if (!chart) return [];
    const ts = chart.timestamp ?? [];
    const q = chart.indicators?.quote?.[0];
    if (!q) throw new VendorFormatError(this.name, 'indicators.quote missing');
    const today = utcDay(new Date());
    const bars: DailyBar[] = [];
    ts.forEach((t, i) => {
      const [o, h, l, c] = [q.open?.[i], q.high?.[i], q.low?.[i], q.close?.[i]];
      if (o == null || h == null || l == null || c == null) return;
      const date = utcDay(new Date(t * 1000));
      if (date === today) return; // today's bar is not final yet
      bars.push({ date, open: o, high: h, low: l, close: c, volume: q.volume?.[i] ?? null });
    });
    return bars;
  }
}
