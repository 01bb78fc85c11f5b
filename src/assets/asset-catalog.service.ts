import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { Asset, AssetType } from './entities/asset.entity';

const TTL_MS = 60_000;

/**
 * Answers "is this a symbol we track?" from a cache of the assets table
 * (refreshed every minute, and at once when an asset is added or removed), so
 * socket subscriptions do not hit the database per message. The minutely
 * refresh runs behind the answers (they use the list held until it is done);
 * only the first load and a load after `invalidate` are waited for.
 */
@Injectable()
export class AssetCatalogService {
  /** symbol -> asset type */
  private symbols = new Map<string, AssetType>();
  private loadedAt = 0;
  /** Bumped by `invalidate`; the list held is current when it was loaded at the current generation. */
  private generation = 0;
  private loadedGeneration = -1;
  private loading?: Promise<void>;

  constructor(@InjectRepository(Asset) private readonly assets: Repository<Asset>) {}

  static normalise(symbol: string): string {
    return symbol.trim().toUpperCase();
  }

  async isKnown(symbol: string): Promise<boolean> {
    await this.ensureFresh();
    return this.symbols.has(AssetCatalogService.normalise(symbol));
  }

  async allSymbols(): Promise<string[]> {
    await this.ensureFresh();
    return [...this.symbols.keys()];
  }

  /** The asset type of a symbol from the cache as it is (no refresh): undefined when not (yet) known. */
  typeOf(symbol: string): AssetType | undefined {
    return this.symbols.get(symbol);
  }

  async findBySymbols(symbols: string[]): Promise<Asset[]> {
    if (symbols.length === 0) return [];
    return this.assets.find({ where: { symbol: In(symbols.map(AssetCatalogService.normalise)) } });
  }

  /** Drop the cache (after an asset is added or removed). */
  invalidate(): void {
    this.generation++;
  }

  private async ensureFresh(): Promise<void> {
    if (this.loadedGeneration === this.generation) {
      if (Date.now() - this.loadedAt >= TTL_MS) void this.reload().catch(() => undefined); // a failed refresh is retried by the next call
      return;
    }
    // Wait for a list loaded at the current generation (a load under way may have started before the change).
    for (let i = 0; i < 3 && this.loadedGeneration !== this.generation; i++) await this.reload();
  }

  /** One load at a time. */
  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const generation = this.generation;
        const rows = await this.assets.find({ select: { symbol: true, assetType: true } });
        this.symbols = new Map(rows.map((r) => [r.symbol, r.assetType]));
        this.loadedAt = Date.now();
        this.loadedGeneration = generation;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
