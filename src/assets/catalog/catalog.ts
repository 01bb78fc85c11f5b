import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYMBOL_PATTERN } from '../../realtime/protocol/symbol';
import { ASSET_TYPES, AssetType } from '../entities/asset.entity';

/** One entry of src/assets/catalog/catalog.json (the symbols the project ships with). */
export interface CatalogEntry {
  symbol: string;
  name: string;
  asset_type: AssetType;
  currency: string;
  exchange: string;
  /** Realistic price to start from (decimal string). */
  reference_price: string;
  /** Daily standard deviation of returns (decimal string, e.g. "0.018"). */
  volatility: string;
  /** CoinGecko coin id (crypto only). */
  coingecko_id?: string;
}

export { SYMBOL_PATTERN };
const DECIMAL = /^\d{1,16}(\.\d{1,8})?$/;

/** Where the catalog lives: next to this file (nest-cli.json copies it into dist/). */
const CATALOG_PATH = join(__dirname, 'catalog.json');

let cached: readonly CatalogEntry[] | undefined;

/** Reads and validates the shipped catalog once per process; throws naming the bad entry. */
export function loadCatalog(path = CATALOG_PATH): readonly CatalogEntry[] {
  if (path === CATALOG_PATH && cached) return cached;
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const entries = parseCatalog(raw);
  if (path === CATALOG_PATH) cached = entries;
  return entries;
}

/** Validates catalog JSON (exported for tests). */
export function parseCatalog(raw: unknown): readonly CatalogEntry[] {
  if (!Array.isArray(raw)) throw new Error('catalog: expected a JSON array');
  const seen = new Set<string>();
  const out: CatalogEntry[] = [];
  raw.forEach((e: Record<string, unknown>, i) => {
    const where = `catalog[${i}]${typeof e?.symbol === 'string' ? ` (${e.symbol})` : ''}`;
    const str = (k: string, max: number): string => {
      const v = e?.[k];
      if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new Error(`${where}: ${k} must be a string of 1..${max} characters`);
      return v;
    };
    const symbol = str('symbol', 32);
    if (!SYMBOL_PATTERN.test(symbol)) throw new Error(`${where}: symbol must match ${SYMBOL_PATTERN}`);
    if (seen.has(symbol)) throw new Error(`${where}: duplicate symbol`);
    seen.add(symbol);
    const assetType = str('asset_type', 10) as AssetType;
    if (!ASSET_TYPES.includes(assetType)) throw new Error(`${where}: asset_type must be one of ${ASSET_TYPES.join(', ')}`);
    const price = str('reference_price', 30);
    if (!DECIMAL.test(price) || Number(price) <= 0) throw new Error(`${where}: reference_price must be a positive decimal string`);
    const vol = str('volatility', 20);
    if (!DECIMAL.test(vol) || Number(vol) <= 0 || Number(vol) >= 1) throw new Error(`${where}: volatility must be a decimal string in (0, 1)`);
    const entry: CatalogEntry = {
      symbol,
      name: str('name', 200),
      asset_type: assetType,
      currency: str('currency', 10),
      exchange: str('exchange', 50),
      reference_price: price,
      volatility: vol,
    };
    if (e.coingecko_id !== undefined) entry.coingecko_id = str('coingecko_id', 100);
    out.push(Object.freeze(entry));
  });
  return Object.freeze(out);
}
