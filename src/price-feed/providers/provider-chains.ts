import { ASSET_TYPES, AssetType } from '../../assets/entities/asset.entity';

/** Keys accepted in PRICE_PROVIDERS and the asset types they select. */
const KEY_TYPES: Record<string, AssetType[]> = {
  stocks: ['STOCK'],
  stock: ['STOCK'],
  etf: ['ETF'],
  etfs: ['ETF'],
  crypto: ['CRYPTO'],
  forex: ['FOREX'],
  fx: ['FOREX'],
  bond: ['BOND'],
  bonds: ['BOND'],
  fund: ['FUND'],
  funds: ['FUND'],
};

/** Types that follow the `stocks` chain unless they have their own entry. */
const FOLLOW_STOCKS: AssetType[] = ['ETF', 'FUND', 'BOND'];

export class ProviderConfigError extends Error {}

/**
 * Parses PRICE_PROVIDERS (`stocks=yahoo,alphavantage;crypto=coingecko;*=simulated`)
 * into an ordered provider chain per asset type. `stocks` also covers ETF, FUND
 * and BOND unless those are listed; `*` is the chain of every type not listed.
 * A type with no chain at all gets none (its symbols are not priced).
 */
export function parseProviderChains(spec: string, known: readonly string[]): Map<AssetType, string[]> {
  const explicit = new Map<AssetType, string[]>();
  let fallback: string[] | undefined;
  let stocks: string[] | undefined;
  const entries = spec
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new ProviderConfigError('PRICE_PROVIDERS is empty (example: "stocks=yahoo,alphavantage;crypto=coingecko;*=simulated")');
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ProviderConfigError(`PRICE_PROVIDERS: "${entry}" is not key=provider[,provider...]`);
    const key = entry.slice(0, eq).trim().toLowerCase();
    const names = entry
      .slice(eq + 1)
      .split(',')
      .map((n) => n.trim().toLowerCase())
      .filter(Boolean);
    if (names.length === 0) throw new ProviderConfigError(`PRICE_PROVIDERS: "${key}" lists no provider`);
    for (const n of names) {
      if (!known.includes(n)) throw new ProviderConfigError(`PRICE_PROVIDERS: unknown provider "${n}" (known: ${known.join(', ')})`);
    }
    if (key === '*') {
      if (fallback) throw new ProviderConfigError('PRICE_PROVIDERS: "*" is listed twice');
      fallback = names;
      continue;
    }
    const types = KEY_TYPES[key];
    if (!types) throw new ProviderConfigError(`PRICE_PROVIDERS: unknown key "${key}" (use stocks, etf, crypto, forex, bond, fund or *)`);
    for (const t of types) {
      if (explicit.has(t)) throw new ProviderConfigError(`PRICE_PROVIDERS: ${t.toLowerCase()} is listed twice`);
      explicit.set(t, names);
    }
    if (types.includes('STOCK')) stocks = names;
  }
  const chains = new Map<AssetType, string[]>();
  for (const t of ASSET_TYPES) {
    const chain = explicit.get(t) ?? (FOLLOW_STOCKS.includes(t) ? stocks : undefined) ?? fallback;
    if (chain) chains.set(t, chain);
  }
  return chains;
}
