import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { hostname } from 'node:os';
import { AssetPricesRepository } from '../../assets/asset-prices.repository';
import type { AssetType } from '../../assets/entities/asset.entity';
import type { PriceTick } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { LatestPriceCache } from '../cache/latest-price.cache';
import { isDbTimeoutError, isTransientDbError } from '../../database/db-errors';
import { trimZeros } from '../../database/decimal.transformer';
import { feedMetrics } from '../metrics';
import type { ProviderAsset } from '../providers/price-provider.interface';
import { ProviderRouter } from '../providers/provider-router.service';
import { KnownPrice, QuoteValidator, RejectReason, ValidQuote } from '../validation/quote-validator';
import { PriceBatchWriter, WriteFence } from './price-batch.writer';

export type SymbolStatus = 'updated' | 'valid' | 'unchanged' | 'rejected' | 'unpriced' | 'unknown' | 'failed';

export interface SymbolResult {
  symbol: string;
  status: SymbolStatus;
  /** A provider returned a quote. */
  fetched: boolean;
  /** The quote is now in the database. */
  stored: boolean;
  /** The price now stored (updated) or fetched (dry run, rejected); the last stored price otherwise. */
  price: string | null;
  previous_close: string | null;
  source: string | null;
  reason?: RejectReason | string;
  detail?: string;
}

export interface BatchReport {
  results: SymbolResult[];
  committed: PriceTick[];
  historyRows: number;
  durationMs: number;
  /** Set when the write failed (the quotes were carried to the next run if the database was unreachable). */
  error?: string;
  carried?: number;
}

export interface BatchOptions {
  /** Who runs the batch: goes into the bus message (`origin`). */
  origin: string;
  /** Fetch and validate only: write and publish nothing. */
  dryRun?: boolean;
  /** Leadership check run inside the write transaction. */
  fence?: WriteFence;
  /** Keep quotes for the next batch when the database is unreachable (the scheduled feed does). */
  carryOnFailure?: boolean;
  /** Aborts database retries (shutdown). */
  signal?: AbortSignal;
}

/** Most quotes kept across runs while the database is unreachable. */
const MAX_CARRIED = 100_000;

/** An asset as loadAssets returns it: what the providers need, and the stored price's time. */
export type KnownAsset = ProviderAsset & { asOf: Date | null };

/** A known-prices entry: the asset's type is missing when only a commit has told us about it. */
type KnownEntry = Omit<KnownAsset, 'assetType'> & { assetType?: AssetType };

/** The newer of two states of one asset row (last_updated only moves forward); ties keep `a`. */
const newer = (a: KnownEntry, b: KnownEntry): KnownEntry => (b.asOf && (!a.asOf || b.asOf.getTime() > a.asOf.getTime()) ? b : a);

/**
 * One batch, end to end: load the assets, fetch quotes through the provider
 * chains, validate, write (one transaction: one multi-row upsert, one
 * multi-row history insert) and, only after commit, publish
 * `prices.committed` on the bus. Used by the scheduler, the one-shot command
 * and the force-update endpoint alike.
 */
@Injectable()
export class PricePipeline implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PricePipeline');
  private carried: ValidQuote[] = [];
  readonly defaultOrigin = `${hostname()}:${process.pid}`;
  /**
   * Known prices (what the assets rows hold) kept between the leader's batches, so a batch
   * reads no known prices from the database. The feed under the advisory lock is the only
   * regular writer; the entries follow every commit seen (this process's, and other
   * processes' through the bus), only ever forward in time (last_updated only moves forward).
   * Dropped on a failed batch and whenever the lock is taken or lost; refreshed by every full
   * loadAssets() (the scheduler's, once per run); a symbol whose accepted quote did not move
   * its row (the database had newer) is read again.
   */
  private readonly known = new Map<string, KnownEntry>();
  /** Bumped when the known prices are dropped: a database read started before then is not kept. */
  private knownEpoch = 0;
  private readonly unsubscribe: Array<() => void> = [];
  constructor(
    private readonly assetPrices: AssetPricesRepository,
    private readonly router: ProviderRouter,
    private readonly validator: QuoteValidator,
    private readonly writer: PriceBatchWriter,
    private readonly bus: MessageBus,
    private readonly cache: LatestPriceCache,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe.push(this.bus.subscribe('prices.committed', (m) => this.remember(m.ticks)));
    // A change of feed leader drops the known prices too: PriceFeedScheduler, which owns the lock, calls forgetKnown().
  }

  onModuleDestroy(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Quotes waiting for the database to come back. */
  get carriedCount(): number {
    return this.carried.length;
  }

  /**
   * Known prices of these symbols from memory (see `known`); the ones not there yet are read
   * from the database (one SELECT) and kept. Same result as loadAssets(symbols) as long as
   * nothing but this process's feed writes the assets' prices.
   */
  async knownAssets(symbols: string[]): Promise<Map<string, KnownAsset>> {
    const out = new Map<string, KnownAsset>();
    let missing: string[] | undefined;
    for (const s of symbols) {
      const e = this.known.get(s);
      if (e?.assetType) out.set(s, e as KnownAsset);
      else (missing ??= []).push(s);
    }
    if (!missing) return out;
    const loaded = await this.loadAssets(missing);
    // Keep the symbols' order as loadAssets gives it (by symbol) when everything was read.
    if (out.size === 0) return loaded;
    for (const [s, a] of loaded) out.set(s, a);
    return out;
  }

  /** Follows committed rows (this process's batches and, through the bus, other writers'). */
  remember(ticks: PriceTick[]): void {
    // One Date per run of equal times (a batch's ticks often share theirs); nothing changes a known entry's Date.
    let iso: string | undefined;
    let asOf = new Date(NaN);
    for (const t of ticks) {
      if (t.as_of !== iso) {
        iso = t.as_of;
        asOf = new Date(t.as_of);
      }
      const e = this.known.get(t.symbol);
      const next: KnownEntry = { symbol: t.symbol, assetType: e?.assetType, lastPrice: t.price, previousClose: t.previous_close, asOf };
      this.known.set(t.symbol, e ? newer(e, next) : next);
    }
  }

  /** Drops every known price: the next batches read them from the database again. */
  forgetKnown(): void {
    this.known.clear();
    this.knownEpoch++;
  }

  /** Database rows read at `epoch` into the known prices (unless dropped since), never moving an entry back in time. */
  private keepLoaded(rows: Map<string, KnownAsset>, epoch: number, all: boolean): void {
    if (epoch !== this.knownEpoch) return;
    if (all) {
      // Every asset: symbols no longer in the table go, types follow the table.
      for (const s of this.known.keys()) if (!rows.has(s)) this.known.delete(s);
    }
    for (const [s, row] of rows) {
      const e = this.known.get(s);
      this.known.set(s, e ? { ...newer(row, e), assetType: row.assetType } : row);
    }
  }

  /** Assets by symbol, in the order asked; `null` symbols are not in the assets table. */
  async loadAssets(symbols?: string[]): Promise<Map<string, KnownAsset>> {
    const epoch = this.knownEpoch;
    const rows = await this.assetPrices.knownPrices(symbols);
    const assets = new Map<string, KnownAsset>(
      rows.map((r) => [
        r.symbol,
        {
          symbol: r.symbol,
          assetType: r.asset_type,
          lastPrice: r.current_price == null ? null : trimZeros(String(r.current_price)),
          previousClose: r.previous_close == null ? null : trimZeros(String(r.previous_close)),
          asOf: r.last_updated ? new Date(r.last_updated) : null,
        },
      ]),
    );
    this.keepLoaded(assets, epoch, !symbols);
    return assets;
  }

  async runBatch(symbols: string[], opts: BatchOptions): Promise<BatchReport> {
    const started = performance.now();
    const wanted = [...new Set(symbols.map((s) => s.trim().toUpperCase()))];
    // The leader's batches (fenced by the lock) use the known prices in memory; anyone else reads the database.
    const assets = opts.fence ? await this.knownAssets(wanted) : await this.loadAssets(wanted);
    const results = new Map<string, SymbolResult>();
    const base = (symbol: string): SymbolResult => {
      const a = assets.get(symbol);
      return { symbol, status: 'unknown', fetched: false, stored: false, price: a?.lastPrice ?? null, previous_close: a?.previousClose ?? null, source: null };
    };
    for (const s of wanted) results.set(s, base(s));

    const known = [...assets.values()];
    const { quotes, unpriced } = await this.router.fetchQuotes(known);
    for (const [symbol, notes] of unpriced) {
      Object.assign(results.get(symbol)!, { status: 'unpriced', detail: notes.join('; ') });
    }
    for (const q of quotes) {
      const r = results.get(q.symbol);
      if (r) Object.assign(r, { fetched: true, source: q.source });
    }
    const knownPrices = new Map<string, KnownPrice>(known.map((a) => [a.symbol, { price: a.lastPrice, asOf: a.asOf }]));
    const { accepted, rejected, unchanged } = this.validator.validate(quotes, knownPrices);
    for (const r of rejected) {
      const res = results.get(r.symbol);
      if (res) Object.assign(res, { status: 'rejected', reason: r.reason, detail: r.detail });
    }
    for (const s of unchanged) Object.assign(results.get(s)!, { status: 'unchanged' });
    for (const q of accepted)
      Object.assign(results.get(q.symbol)!, { status: 'valid', price: q.price, previous_close: q.previous_close ?? results.get(q.symbol)!.previous_close });

    const report: BatchReport = { results: [...results.values()], committed: [], historyRows: 0, durationMs: 0 };
    if (opts.dryRun) {
      report.durationMs = performance.now() - started;
      return report;
    }

    const toWrite = this.carried.length ? [...this.carried, ...accepted] : accepted;
    if (toWrite.length > 0) {
      try {
        const written = await this.writeWithRetry(toWrite, opts);
        this.carried = [];
        report.committed = written.committed;
        report.historyRows = written.historyRows;
        this.remember(written.committed);
        if (written.committed.length < toWrite.length) {
          // A quote that did not move its row: the database holds something newer (or the asset is gone). Read it again.
          const moved = new Set(written.committed.map((t) => t.symbol));
          for (const q of toWrite) if (!moved.has(q.symbol)) this.known.delete(q.symbol);
        }
        feedMetrics.batches.inc({ outcome: 'committed' });
      } catch (err) {
        // Whatever happened to the database meanwhile, the known prices are read from it again.
        this.forgetKnown();
        const msg = (err as Error).message;
        report.error = msg;
        feedMetrics.batches.inc({ outcome: 'failed' });
        for (const q of accepted) Object.assign(results.get(q.symbol)!, { status: 'failed', detail: msg });
        if (opts.carryOnFailure && isTransientDbError(err)) {
          this.carried = toWrite.slice(-MAX_CARRIED);
          report.carried = this.carried.length;
          this.logger.warn(`Database unreachable (${msg}); ${this.carried.length} quote(s) kept for the next run`);
        } else {
          this.logger.error(`Batch of ${toWrite.length} quote(s) not written: ${msg}`);
        }
      }
    }
    const committed = new Map(report.committed.map((t) => [t.symbol, t]));
    for (const q of accepted) {
      const t = committed.get(q.symbol);
      const r = results.get(q.symbol)!;
      if (t) Object.assign(r, { status: 'updated', stored: true, price: t.price, previous_close: t.previous_close, source: t.source });
      else if (r.status === 'valid') Object.assign(r, { status: 'unchanged' }); // a newer quote was already stored
    }
    if (report.committed.length > 0) {
      // The committing process stores the prices in the shared cache (Redis) once; every process's
      // bus subscriber then only refreshes its own memory.
      await this.cache.put(report.committed);
      try {
        await this.bus.publish('prices.committed', { ticks: report.committed, published_at: Date.now(), origin: opts.origin });
      } catch (err) {
        this.logger.warn(`Committed ${report.committed.length} price(s) but could not publish them: ${(err as Error).message}`);
      }
    }
    report.durationMs = performance.now() - started;
    feedMetrics.batchSeconds.observe(report.durationMs / 1000);
    return report;
  }

  private async writeWithRetry(quotes: ValidQuote[], opts: BatchOptions) {
    if (!opts.carryOnFailure) return this.writer.write(quotes, opts.fence);
    // Retried: a connection refused, reset or lost (quick to fail, may be back in a moment). Not retried: a
    // timeout (a frozen server or a dead link), which would hold the batch for another whole timeout each time;
    // the quotes are carried to the next run instead.
    const policy = retry(
      handleWhen((e) => isTransientDbError(e) && !isDbTimeoutError(e)),
      { maxAttempts: 4, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 3000 }) },
    );
    policy.onRetry((r) => this.logger.warn(`Batch write failed (${'error' in r ? r.error.message : '?'}); retrying in ${Math.round(r.delay)} ms`));
    return policy.execute(() => this.writer.write(quotes, opts.fence), opts.signal);
  }
}
