import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AssetType } from './entities/asset.entity';

/** An asset's stored price state. NUMERIC columns arrive as strings (trailing zeros kept), timestamps as Dates. */
export interface AssetPriceRow {
  symbol: string;
  current_price: string | null;
  previous_close: string | null;
  last_updated: Date | null;
}

/** The price state with the asset's type (what the feed's providers need). */
export interface AssetKnownPriceRow extends AssetPriceRow {
  asset_type: AssetType;
}

/** The whole stored quote of a priced asset (the latest-price cache's source of last resort). */
export interface AssetQuoteRow {
  symbol: string;
  current_price: string;
  previous_close: string | null;
  day_high: string | null;
  day_low: string | null;
  volume: string | null;
  last_updated: Date | null;
  source: string | null;
  /** bigint, as the driver returns it (a decimal string); absent from the valuation's reads. */
  price_seq?: string;
}

/**
 * The reads of the assets' price columns, in one place: the live valuation engine's start
 * state (LiveValuationService), the feed's known prices (PricePipeline.loadAssets) and the
 * latest-price cache's database fallback (LatestPriceCache). Plain SQL on the DataSource,
 * one statement per call, rows as pg returns them (callers convert). The feed's writes stay
 * in PriceBatchWriter (the ingest hot path).
 *
 * The methods return the query's own promise (no extra async step): the valuation engine's
 * reload ordering and the feed's timings are those of the bare query.
 */
@Injectable()
export class AssetPricesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Every asset's price state and type (the valuation engine converts currencies through the FOREX pairs), in no particular order. */
  allPrices(): Promise<AssetKnownPriceRow[]> {
    return this.db.query('SELECT symbol, asset_type, current_price, previous_close, last_updated FROM assets') as Promise<AssetKnownPriceRow[]>;
  }

  /** Price state and type of these symbols (all assets when omitted), ordered by symbol; unknown symbols are absent. */
  knownPrices(symbols?: readonly string[]): Promise<AssetKnownPriceRow[]> {
    return (
      symbols
        ? this.db.query(`SELECT symbol, asset_type, current_price, previous_close, last_updated FROM assets WHERE symbol = ANY($1::text[]) ORDER BY symbol`, [
            symbols,
          ])
        : this.db.query(`SELECT symbol, asset_type, current_price, previous_close, last_updated FROM assets ORDER BY symbol`)
    ) as Promise<AssetKnownPriceRow[]>;
  }

  /** Stored quotes of up to `limit` assets that have a price, the most recently updated first (the cache's warm-up). */
  recentQuotes(limit: number): Promise<AssetQuoteRow[]> {
    return this.db.query(
      `SELECT symbol, current_price, previous_close, day_high, day_low, volume, last_updated, source, price_seq
           FROM assets WHERE current_price IS NOT NULL ORDER BY last_updated DESC NULLS LAST LIMIT $1`,
      [limit],
    ) as Promise<AssetQuoteRow[]>;
  }

  /** Stored quotes of those of these symbols that have a price, in no particular order. */
  latestQuotes(symbols: readonly string[]): Promise<AssetQuoteRow[]> {
    return this.db.query(
      `SELECT symbol, current_price, previous_close, day_high, day_low, volume, last_updated, source, price_seq
           FROM assets WHERE symbol = ANY($1::text[]) AND current_price IS NOT NULL`,
      [symbols],
    ) as Promise<AssetQuoteRow[]>;
  }
}
