import { Injectable, Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { ASSET_TYPES } from '../../assets/entities/asset.entity';
import { AppConfig } from '../../config/app-config';
import { DailyBar, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { VendorFormatError, VendorNotSupportedError, VendorRequestError } from './vendor.errors';

interface ReplayRow {
  t: number;
  price: string;
  volume: string | null;
}

/**
 * Plays a CSV of `timestamp,symbol,price,volume` (ISO 8601 or epoch seconds;
 * header line optional) at REPLAY_SPEED times real time, looping at the end.
 * The recording's first timestamp maps to the moment the provider is first
 * asked; each quote is dated at the wall-clock moment it plays.
 */
@Injectable()
export class ReplayProvider implements PriceProvider {
  readonly name = 'replay';
  readonly assetTypes = ASSET_TYPES;
  private readonly logger = new Logger('ReplayProvider');
  private rows?: Map<string, ReplayRow[]>;
  private first = 0;
  private span = 0;
  private startedAt = 0;

  constructor(private readonly config: AppConfig) {}

  /** Parses a replay CSV (exported for tests). */
  static parse(text: string): Map<string, ReplayRow[]> {
    const bySymbol = new Map<string, ReplayRow[]>();
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      const l = line.trim();
      if (!l || l.startsWith('#')) return;
      const cells = l.split(',').map((c) => c.trim());
      if (i === 0 && /^timestamp$/i.test(cells[0])) return;
      if (cells.length < 3) throw new Error(`line ${i + 1}: expected timestamp,symbol,price,volume`);
      const [ts, sym, price, volume] = cells;
      const t = /^\d+(\.\d+)?$/.test(ts) ? Number(ts) * 1000 : Date.parse(ts);
      if (!Number.isFinite(t)) throw new Error(`line ${i + 1}: bad timestamp "${ts}"`);
      const symbol = sym.toUpperCase();
      const list = bySymbol.get(symbol) ?? [];
      list.push({ t, price, volume: volume ? volume : null });
      bySymbol.set(symbol, list);
    });
    for (const list of bySymbol.values()) list.sort((a, b) => a.t - b.t);
    return bySymbol;
  }

  private load(now: number): Map<string, ReplayRow[]> {
    if (this.rows) return this.rows;
    const file = this.config.REPLAY_FILE;
    if (!file) throw new VendorRequestError(this.name, 'REPLAY_FILE is not set');
    let rows: Map<string, ReplayRow[]>;
    try {
      rows = ReplayProvider.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new VendorFormatError(this.name, `${file}: ${(err as Error).message}`);
    }
    let min = Infinity;
    let max = -Infinity;
    for (const list of rows.values()) {
      min = Math.min(min, list[0].t);
      max = Math.max(max, list[list.length - 1].t);
    }
    if (!Number.isFinite(min)) throw new VendorFormatError(this.name, `${file}: no rows`);
    this.first = min;
    // One extra second so the last and first rows of consecutive loops do not coincide.
    this.span = max - min + 1000;
    this.startedAt = now;
    this.rows = rows;
    this.logger.log(`Replaying ${file}: ${rows.size} symbols over ${(this.span / 1000).toFixed(0)} s at ${this.config.REPLAY_SPEED}x`);
    return rows;
  }

  async getQuotes(assets: ProviderAsset[], nowDate: Date = new Date()): Promise<RawQuote[]> {
    const now = nowDate.getTime();
    const rows = this.load(now);
    const speed = this.config.REPLAY_SPEED;
    const played = (now - this.startedAt) * speed;
    const loop = Math.floor(played / this.span);
    const pos = this.first + (played - loop * this.span);
    const out: RawQuote[] = [];
    for (const a of assets) {
      const list = rows.get(a.symbol);
      if (!list) continue;
      // Latest row at or before the play position (this loop), else the last row of the previous loop.
      let lo = 0;
      let hi = list.length - 1;
      let idx = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid].t <= pos) {
          idx = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      let rowLoop = loop;
      if (idx < 0) {
        if (loop === 0) continue;
        idx = list.length - 1;
        rowLoop = loop - 1;
      }
      const r = list[idx];
      const asOf = this.startedAt + (rowLoop * this.span + (r.t - this.first)) / speed;
      out.push({ symbol: a.symbol, price: r.price, volume: r.volume, high: null, low: null, previous_close: null, as_of: new Date(asOf), source: this.name });
    }
    return out;
  }

  async getDailyHistory(_asset: ProviderAsset, _days: number): Promise<DailyBar[]> {
    throw new VendorNotSupportedError(this.name, 'replay has no daily history');
  }
}
