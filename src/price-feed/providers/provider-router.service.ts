import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { AssetType } from '../../assets/entities/asset.entity';
import { AppConfig } from '../../config/app-config';
import { watchVendorStates } from '../metrics';
import { parseProviderChains } from './provider-chains';
import { DailyBar, PRICE_PROVIDERS, PriceProvider, ProviderAsset, RawQuote } from './price-provider.interface';
import { VendorClient } from './vendor-client';

export interface FetchResult {
  quotes: RawQuote[];
  /** Symbols no provider in their chain could price, with what each provider said. */
  unpriced: Map<string, string[]>;
}

/**
 * Chooses and orders providers per asset type (PRICE_PROVIDERS) and fails
 * over: symbols the first provider could not price (error, open breaker,
 * empty rate-limit bucket, unknown symbol) go to the next one in the chain.
 */
@Injectable()
export class ProviderRouter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ProviderRouter');
  private readonly byName: Map<string, PriceProvider>;
  readonly chains: Map<AssetType, PriceProvider[]>;

  constructor(@Inject(PRICE_PROVIDERS) providers: PriceProvider[], config: AppConfig) {
    this.byName = new Map(providers.map((p) => [p.name, p]));
    const names = parseProviderChains(config.PRICE_PROVIDERS, [...this.byName.keys()]);
    this.chains = new Map();
    for (const [type, chain] of names) {
      const usable = chain
        .map((n) => this.byName.get(n)!)
        .filter((p) => {
          if (p.assetTypes.includes(type)) return true;
          this.logger.warn(`PRICE_PROVIDERS: ${p.name} does not serve ${type}; skipped in that chain`);
          return false;
        });
      if (usable.length) this.chains.set(type, usable);
    }
  }

  /** Unregisters this router's breaker states from the metrics scrape (price_feed_vendor_circuit_state). */
  private unwatch: (() => void) | null = null;

  onModuleInit(): void {
    this.unwatch = watchVendorStates(() => this.vendorStates());
    const desc = [...this.chains.entries()].map(([t, c]) => `${t}=${c.map((p) => p.name).join('>')}`).join(' ');
    this.logger.log(`Provider chains: ${desc || '(none)'}`);
  }

  onModuleDestroy(): void {
    this.unwatch?.();
    this.unwatch = null;
  }

  provider(name: string): PriceProvider | undefined {
    return this.byName.get(name);
  }

  /** The HTTP client of a provider that has one (the vendors; not simulated or replay). */
  private static httpOf(p: PriceProvider): VendorClient | null {
    const http = (p as { http?: VendorClient }).http;
    return http instanceof VendorClient ? http : null;
  }

  /**
   * The first vendor of `type`'s chain when every provider of that chain is an HTTP vendor whose
   * circuit breaker is not closed (nothing can price the type now); null otherwise (a chain with
   * simulated or replay, or with one vendor still answering, is not down; nor is a type with no chain).
   */
  unavailableVendor(type: AssetType): string | null {
    const chain = this.chains.get(type);
    if (!chain?.length) return null;
    for (const p of chain) {
      const http = ProviderRouter.httpOf(p);
      if (!http || http.breakerState === 'closed') return null;
    }
    return chain[0].name;
  }

  /** `fn` runs when the circuit breaker of a vendor in use opens or closes; returns the unsubscribe function. */
  onBreakerChange(fn: (vendor: string, state: 'open' | 'closed') => void): () => void {
    const offs: (() => void)[] = [];
    for (const p of new Set([...this.chains.values()].flat())) {
      const http = ProviderRouter.httpOf(p);
      if (http) offs.push(http.onBreakerChange((state) => fn(p.name, state)));
    }
    return () => offs.forEach((off) => off());
  }

  /** Breaker state and last error of every HTTP vendor in use (for the status endpoint). */
  vendorStates(): Record<string, { breaker: string; last_error: string | null }> {
    const out: Record<string, { breaker: string; last_error: string | null }> = {};
    const used = new Set([...this.chains.values()].flat());
    for (const p of used) {
      const http = (p as { http?: VendorClient }).http;
      if (http instanceof VendorClient) out[p.name] = { breaker: http.breakerState, last_error: http.lastError };
    }
    return out;
  }

  async fetchQuotes(assets: ProviderAsset[]): Promise<FetchResult> {
    // Types that share a chain (stocks, ETFs, funds, bonds by default) go to each vendor in one call.
    const groups = new Map<string, { chain: PriceProvider[]; assets: ProviderAsset[] }>();
    for (const a of assets) {
      const chain = this.chains.get(a.assetType) ?? [];
      const key = chain.map((p) => p.name).join('>');
      const g = groups.get(key) ?? { chain, assets: [] };
      g.assets.push(a);
      groups.set(key, g);
    }
    const quotes: RawQuote[] = [];
    const unpriced = new Map<string, string[]>();
    await Promise.all(
      [...groups.values()].map(async ({ chain, assets: group }) => {
        let remaining = group;
        const notes = new Map<string, string[]>();
        const note = (symbol: string, text: string) => notes.set(symbol, [...(notes.get(symbol) ?? []), text]);
        for (const provider of chain) {
          if (remaining.length === 0) break;
          let got: RawQuote[] = [];
          try {
            got = await provider.getQuotes(remaining);
          } catch (err) {
            this.logger.warn(`${provider.name} failed for ${remaining.length} symbol(s): ${(err as Error).message}`);
            for (const a of remaining) note(a.symbol, `${provider.name}: ${(err as Error).message}`);
            continue;
          }
          const wanted = new Set(remaining.map((a) => a.symbol));
          const mine = got.filter((q) => wanted.has(q.symbol));
          const priced = new Set(mine.map((q) => q.symbol));
          quotes.push(...mine);
          const left = remaining.filter((a) => !priced.has(a.symbol));
          for (const a of left) note(a.symbol, `${provider.name}: no quote`);
          if (left.length && left.length < remaining.length) {
            this.logger.debug(`${provider.name} priced ${remaining.length - left.length}/${remaining.length}; next provider for the rest`);
          }
          remaining = left;
        }
        for (const a of remaining) unpriced.set(a.symbol, notes.get(a.symbol) ?? [`no provider for ${a.assetType}`]);
      }),
    );
    return { quotes, unpriced };
  }

  /** Daily bars from the first provider in the asset's chain that has them. */
  async fetchHistory(asset: ProviderAsset, days: number): Promise<{ bars: DailyBar[]; source: string | null; errors: string[] }> {
    const errors: string[] = [];
    for (const provider of this.chains.get(asset.assetType) ?? []) {
      try {
        const bars = await provider.getDailyHistory(asset, days);
        if (bars.length) return { bars, source: provider.name, errors };
        errors.push(`${provider.name}: no history`);
      } catch (err) {
        errors.push(`${provider.name}: ${(err as Error).message}`);
      }
    }
    return { bars: [], source: null, errors };
  }
}
