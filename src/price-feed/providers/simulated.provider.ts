import { Injectable, Logger } from '@nestjs/common';
import { ASSET_TYPES, AssetType } from '../../assets/entities/asset.entity';
import { CatalogEntry, loadCatalog } from '../../assets/catalog/catalog';
import { D, Dec } from '../../common/decimal';
import { AppConfig } from '../../config/app-config';
import { DailyBar, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { SeededRandom } from './seeded-random';

/** Seconds in a trading day: daily volatility is spread over this many seconds of ticks. */
const TRADING_DAY_SECONDS = 23_400;
const DEFAULT_VOLATILITY = 0.02;

interface SimState {
  price: Dec;
  previousClose: Dec;
  high: Dec;
  low: Dec;
  volume: Dec;
  /** UTC day (YYYY-MM-DD) the intraday fields belong to. */
  day: string;
  rng: SeededRandom;
  volatility: number;
  dailyVolume: number;
  assetType: AssetType;
}

export const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

/** Decimal places a simulated price is rounded to. */
function placesFor(type: AssetType, price: Dec): number {
  if (type === 'FOREX') return price.gte(20) ? 3 : 5;
  if (price.lt(1)) return 6;
  if (type === 'CRYPTO' && price.lt(10)) return 4;
  return 2;
}

/**
 * The offline market (default provider): a seeded, reproducible random walk per
 * symbol (geometric, with the catalog's daily volatility spread over the
 * update interval), intraday high/low/volume that accumulate, a daily roll-over
 * that moves the last price into previous_close, and generated daily history
 * for backfill. Same SIMULATED_SEED + same starting prices = same prices.
 */
@Injectable()
export class SimulatedProvider implements PriceProvider {
  readonly name = 'simulated';
  readonly assetTypes = ASSET_TYPES;
  private readonly logger = new Logger('SimulatedProvider');
  private readonly states = new Map<string, SimState>();
  private readonly catalog = new Map<string, CatalogEntry>();
  private readonly stepSigmaScale: number;

  constructor(private readonly config: AppConfig) {
    try {
      for (const e of loadCatalog()) this.catalog.set(e.symbol, e);
    } catch (err) {
      this.logger.warn(`Catalog not readable, using default volatility: ${(err as Error).message}`);
    }
    this.stepSigmaScale = Math.sqrt(Math.min(config.REALTIME_UPDATE_INTERVAL, TRADING_DAY_SECONDS) / TRADING_DAY_SECONDS);
  }

  async getQuotes(assets: ProviderAsset[], now: Date = new Date()): Promise<RawQuote[]> {
    const today = utcDay(now);
    const out: RawQuote[] = [];
    for (const a of assets) {
      const s = this.state(a, today);
      if (!s) continue;
      if (s.day !== today) this.roll(s, today);
      this.step(s);
      out.push({
        symbol: a.symbol,
        price: s.price.toFixed(),
        previous_close: s.previousClose.toFixed(),
        high: s.high.toFixed(),
        low: s.low.toFixed(),
        volume: s.volume.toFixed(),
        as_of: now,
        source: this.name,
      });
    }
    return out;
  }

  /** Starts a new trading day for every simulated symbol (the nightly job calls this). */
  rollover(now: Date = new Date()): number {
    const today = utcDay(now);
    let n = 0;
    for (const s of this.states.values()) {
      if (s.day !== today) {
        this.roll(s, today);
        n++;
      }
    }
    return n;
  }

  async getDailyHistory(asset: ProviderAsset, days: number, now: Date = new Date()): Promise<DailyBar[]> {
    const entry = this.catalog.get(asset.symbol);
    const anchorRaw = asset.previousClose ?? asset.lastPrice ?? entry?.reference_price;
    if (!anchorRaw) return [];
    const vol = entry ? Number(entry.volatility) : DEFAULT_VOLATILITY;
    const rng = new SeededRandom(`${this.config.SIMULATED_SEED}:${asset.symbol}:history`);
    const dailyVolume = this.baseDailyVolume(asset.symbol, asset.assetType);
    const weekdaysOnly = asset.assetType !== 'CRYPTO';
    const bars: DailyBar[] = [];
    let close = new D(anchorRaw);
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    for (let i = 1; i <= days; i++) {
      const date = new Date(start - i * 86_400_000);
      const dow = date.getUTCDay();
      if (weekdaysOnly && (dow === 0 || dow === 6)) continue;
      const ret = vol * rng.normal();
      const open = close.div(Math.exp(ret));
      const wiggle = Math.abs(rng.normal()) * vol * 0.5;
      const dp = placesFor(asset.assetType, close);
      const hi = D.max(open, close).mul(1 + wiggle);
      const lo = D.min(open, close).mul(Math.max(0.01, 1 - wiggle));
      bars.push({
        date: utcDay(date),
        open: open.toDecimalPlaces(dp).toFixed(),
        high: hi.toDecimalPlaces(dp).toFixed(),
        low: lo.toDecimalPlaces(dp).toFixed(),
        close: close.toDecimalPlaces(dp).toFixed(),
        volume: String(Math.round(dailyVolume * (0.5 + rng.next()))),
      });
      close = open;
    }
    return bars.reverse();
  }

  private state(a: ProviderAsset, today: string): SimState | null {
    let s = this.states.get(a.symbol);
    if (s) return s;
    const entry = this.catalog.get(a.symbol);
    const startRaw = a.lastPrice ?? entry?.reference_price;
    if (!startRaw) return null;
    const price = new D(startRaw);
    if (!price.isFinite() || price.lte(0)) return null;
    s = {
      price,
      previousClose: new D(a.previousClose ?? startRaw),
      high: price,
      low: price,
      volume: new D(0),
      day: today,
      rng: new SeededRandom(`${this.config.SIMULATED_SEED}:${a.symbol}`),
      volatility: entry ? Number(entry.volatility) : DEFAULT_VOLATILITY,
      dailyVolume: this.baseDailyVolume(a.symbol, a.assetType),
      assetType: a.assetType,
    };
    this.states.set(a.symbol, s);
    return s;
  }

  private roll(s: SimState, today: string): void {
    s.previousClose = s.price;
    s.high = s.price;
    s.low = s.price;
    s.volume = new D(0);
    s.day = today;
  }

  private step(s: SimState): void {
    const sigma = s.volatility * this.stepSigmaScale;
    const factor = Math.exp(sigma * s.rng.normal() - (sigma * sigma) / 2);
    const next = s.price.mul(factor);
    const rounded = next.toDecimalPlaces(placesFor(s.assetType, next));
    s.price = rounded.gt(0) ? rounded : s.price;
    if (s.price.gt(s.high)) s.high = s.price;
    if (s.price.lt(s.low)) s.low = s.price;
    const share = s.dailyVolume * this.stepSigmaScale * this.stepSigmaScale * (0.5 + s.rng.next());
    s.volume = s.volume.plus(s.assetType === 'CRYPTO' || s.assetType === 'FOREX' ? new D(share).toDecimalPlaces(4) : Math.max(1, Math.round(share)));
  }

  /** A stable, symbol-specific typical daily volume. */
  private baseDailyVolume(symbol: string, type: AssetType): number {
    const u = new SeededRandom(`volume:${symbol}`).next();
    if (type === 'CRYPTO') return 1_000 + u * 50_000;
    if (type === 'FOREX') return 1e6 + u * 1e7;
    return 1e6 + u * 4e7;
  }
}
