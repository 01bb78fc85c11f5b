import type { AssetType } from '../../assets/entities/asset.entity';

/** What a provider needs to know about an asset to quote it. */
export interface ProviderAsset {
  symbol: string;
  assetType: AssetType;
  /** Last stored price and previous close (decimal strings), if any: the simulated market continues from them. */
  lastPrice: string | null;
  previousClose: string | null;
}

/** A quote as a vendor gave it, before validation. Numbers may be JS numbers or decimal strings. */
export interface RawQuote {
  symbol: string;
  price: number | string | null | undefined;
  previous_close?: number | string | null;
  high?: number | string | null;
  low?: number | string | null;
  volume?: number | string | null;
  /** When the vendor says the quote is from. */
  as_of: Date;
  source: string;
}

/** One day of history (date in UTC, YYYY-MM-DD). */
export interface DailyBar {
  date: string;
  open: number | string;
  high: number | string;
  low: number | string;
  close: number | string;
  volume: number | string | null;
}

/**
 * One market-data source. Each vendor is its own injectable class; all are
 * collected under the PRICE_PROVIDERS token and ordered per asset type by
 * the PRICE_PROVIDERS setting.
 */
export interface PriceProvider {
  /** The name used in PRICE_PROVIDERS (`yahoo`, `alphavantage`, `coingecko`, `simulated`, `replay`). */
  readonly name: string;
  /** Asset types this provider can quote. */
  readonly assetTypes: readonly AssetType[];
  /**
   * Quotes for a batch of assets. May return fewer quotes than asked (symbols it
   * could not price fall through to the next provider); throws when it could price none
   * because the vendor failed.
   */
  getQuotes(assets: ProviderAsset[]): Promise<RawQuote[]>;
  /** Daily bars for the last `days` days, oldest first. */
  getDailyHistory(asset: ProviderAsset, days: number): Promise<DailyBar[]>;
}

/** Injection token of the array of every PriceProvider. */
export const PRICE_PROVIDERS = Symbol('PRICE_PROVIDERS');
