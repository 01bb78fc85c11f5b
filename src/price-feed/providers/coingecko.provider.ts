import { Injectable, Logger } from '@nestjs/common';
import type { AssetType } from '../../assets/entities/asset.entity';
import { loadCatalog } from '../../assets/catalog/catalog';
import { D } from '../../common/decimal';
import { AppConfig } from '../../config/app-config';
import { utcDay } from './simulated.provider';
import { DailyBar, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { VendorClient } from './vendor-client';
import { VendorClientFactory } from './vendor-client.factory';
import { VendorFormatError } from './vendor.errors';

/** Coin ids for common bases, used when the catalog has no coingecko_id. */
const KNOWN_IDS: Record<string, string> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  SOL: 'solana',
  XRP: 'ripple',
  ADA: 'cardano',
  DOGE: 'dogecoin',
  LTC: 'litecoin',
  DOT: 'polkadot',
  BNB: 'binancecoin',
  AVAX: 'avalanche-2',
  LINK: 'chainlink',
  MATIC: 'matic-network',
};

/**
 * CoinGecko: /api/v3/simple/price (with 24h change, 24h volume and
 * last_updated_at) for quotes of BASE-QUOTE crypto symbols, and
 * /api/v3/coins/{id}/market_chart for daily history. The previous close is
 * the price 24 hours ago, derived from the 24h change. The API key goes in
 * x-cg-demo-api-key (or x-cg-pro-api-key for the pro host).
 */
@Injectable()
export class CoinGeckoProvider implements PriceProvider {
  readonly name = 'coingecko';
  readonly assetTypes: readonly AssetType[] = ['CRYPTO'];
  private readonly logger = new Logger('CoinGeckoProvider');
  readonly http: VendorClient;
  private readonly ids = new Map<string, string>();

  constructor(
    private readonly config: AppConfig,
    factory: VendorClientFactory,
  ) {
    this.http = factory.create(this.name, { perMinute: config.COINGECKO_RATE_PER_MINUTE, perDay: config.COINGECKO_RATE_PER_DAY });
    try {
      for (const e of loadCatalog()) if (e.coingecko_id) this.ids.set(e.symbol, e.coingecko_id);
    } catch (err) {
      this.logger.warn(`Catalog not readable: ${(err as Error).message}`);
    }
  }

  /** Coin id and quote currency for a catalog symbol (`BTC-USD` → bitcoin, usd). */
  coin(symbol: string): { id: string; vs: string } | null {
    const m = /^([A-Z0-9]+)-([A-Z]{3,4})$/.exec(symbol);
    if (!m) return null;
    const id = this.ids.get(symbol) ?? KNOWN_IDS[m[1]];
    return id ? { id, vs: m[2].toLowerCase() } : null;
  }

  private headers(): Record<string, string> {
    const key = this.config.COINGECKO_API_KEY;
    if (!key) return {};
    return this.config.COINGECKO_BASE_URL.includes('pro-api') ? { 'x-cg-pro-api-key': key } : { 'x-cg-demo-api-key': key };
  }

  async getQuotes(assets: ProviderAsset[]): Promise<RawQuote[]> {
    const wanted = new Map<string, { asset: ProviderAsset; id: string; vs: string }>();
    for (const a of assets) {
      const c = this.coin(a.symbol);
      if (c) wanted.set(a.symbol, { asset: a, ...c });
    }
    if (wanted.size === 0) return [];
    const ids = [...new Set([...wanted.values()].map((w) => w.id))];
    const vs = [...new Set([...wanted.values()].map((w) => w.vs))];
    const url = new URL('/api/v3/simple/price', this.config.COINGECKO_BASE_URL);
    url.searchParams.set('ids', ids.join(','));
    url.searchParams.set('vs_currencies', vs.join(','));
    url.searchParams.set('include_24hr_vol', 'true');
    url.searchParams.set('include_24hr_change', 'true');
    url.searchParams.set('include_last_updated_at', 'true');
    url.searchParams.set('precision', 'full');
    const { body } = await this.http.getJson(url, { headers: this.headers() });
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new VendorFormatError(this.name, 'simple/price answer is not an object');
    const data = body as Record<string, Record<string, unknown> | undefined>;
    const out: RawQuote[] = [];
    for (const w of wanted.values()) {
      const row = data[w.id];
      if (!row || typeof row !== 'object') continue; // unknown id: CoinGecko leaves it out
      const price = row[w.vs];
      const updated = row['last_updated_at'];
      if (typeof price !== 'number' || typeof updated !== 'number') {
        this.logger.warn(`${w.asset.symbol}: malformed simple/price entry ${JSON.stringify(row).slice(0, 120)}`);
        continue;
      }
      const change = row[`${w.vs}_24h_change`];
      let previous: string | null = null;
      if (typeof change === 'number' && Number.isFinite(change) && change > -100) {
        previous = new D(String(price))
          .div(new D(1).plus(new D(String(change)).div(100)))
          .toDecimalPlaces(8)
          .toFixed();
      }
      const vol = row[`${w.vs}_24h_vol`];
      out.push({
        symbol: w.asset.symbol,
        price,
        previous_close: previous,
        high: null,
        low: null,
        volume: typeof vol === 'number' ? vol : null,
        as_of: new Date(updated * 1000),
        source: this.name,
      });
    }
    return out;
  }

  async getDailyHistory(asset: ProviderAsset, days: number): Promise<DailyBar[]> {
    const c = this.coin(asset.symbol);
    if (!c) return [];
    const url = new URL(`/api/v3/coins/${encodeURIComponent(c.id)}/market_chart`, this.config.COINGECKO_BASE_URL);
    url.searchParams.set('vs_currency', c.vs);
    url.searchParams.set('days', String(days));
    url.searchParams.set('interval', 'daily');
    const { body } = await this.http.getJson(url, { headers: this.headers() });
    const prices = (body as { prices?: unknown })?.prices;
    const volumes = (body as { total_volumes?: unknown })?.total_volumes;
    if (!Array.isArray(prices)) throw new VendorFormatError(this.name, 'market_chart.prices missing');
    const volByDay = new Map<string, number>();
    if (Array.isArray(volumes)) {
      for (const p of volumes) if (Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number') volByDay.set(utcDay(new Date(p[0] - 1)), p[1]);
    }
    const today = utcDay(new Date());
    const byDay = new Map<string, number[]>();
    for (const p of prices) {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') throw new VendorFormatError(this.name, 'market_chart point malformed');
      // A point at 00:00 UTC is the close of the day before.
      const day = utcDay(new Date(p[0] - 1));
      if (day >= today) continue;
      const list = byDay.get(day) ?? [];
      list.push(p[1]);
      byDay.set(day, list);
    }
    let prevClose: number | undefined;
    return [...byDay.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, ps]) => {
        const open = prevClose ?? ps[0];
        const close = ps[ps.length - 1];
        prevClose = close;
        return { date, open, high: Math.max(open, ...ps), low: Math.min(open, ...ps), close, volume: volByDay.get(date) ?? null };
      });
  }
}
