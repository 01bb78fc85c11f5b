import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AssetPricesRepository, AssetQuoteRow } from '../../assets/asset-prices.repository';
import { checkTick } from '../../bus/bus-message.validator';
import { quoteStaleAfterMs } from '../../common/staleness';
import type { PriceTick } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { trimZeros } from '../../database/decimal.transformer';
import { LatestPriceSource } from '../latest-price.source';
import { PriceFeedRedis } from '../redis/price-feed-redis.service';

interface Entry {
  tick: PriceTick;
  expiresAt: number;
}

const trim = (v: string | null): string | null => (v == null ? null : trimZeros(String(v)));

/** The warm-up loads at most this many prices (the most recently updated): bounded memory and query time. */
export const WARM_LIMIT = 100_000;

/**
 * The latest price per symbol: in memory, in Redis when REDIS_URL is set
 * (`<REDIS_PREFIX>price:<SYMBOL>`, expiring after REALTIME_CACHE_TIMEOUT), and
 * the assets table as the source of last resort. Kept current by the
 * `prices.committed` messages on the bus, so every API instance and the
 * separate feed process see the same prices; an older quote never replaces a newer one.
 */
@Injectable()
export class LatestPriceCache extends LatestPriceSource implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('LatestPriceCache');
  private readonly memory = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly redis?: Redis;
  private readonly redisService: PriceFeedRedis;
  private readonly keyPrefix: string;
  private unsubscribe?: () => void;

  constructor(
    private readonly config: AppConfig,
    private readonly bus: MessageBus,
    private readonly assetPrices: AssetPricesRepository,
    redis: PriceFeedRedis,
  ) {
    super();
    this.ttlMs = config.REALTIME_CACHE_TIMEOUT * 1000;
    this.staleAfterMs = quoteStaleAfterMs(config.REALTIME_UPDATE_INTERVAL);
    this.keyPrefix = redis.key('price:');
    this.redis = redis.client;
    this.redisService = redis;
  }

  onModuleInit(): void {
    // Memory only: the process that committed the batch already wrote Redis (PricePipeline), so the
    // fan-out path of every API instance does no Redis I/O per tick.
    this.unsubscribe = this.bus.subscribe('prices.committed', (msg) => {
      this.remember(msg.ticks);
    });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  /** Milliseconds after which a quote is considered stale. */
  get staleAfter(): number {
    return this.staleAfterMs;
  }

  async get(symbol: string): Promise<PriceTick | null> {
    const m = await this.getMany([symbol]);
    return m.get(symbol.trim().toUpperCase()) ?? null;
  }

  async getMany(symbols: string[]): Promise<Map<string, PriceTick>> {
    const out = new Map<string, PriceTick>();
    const now = Date.now();
    let missing: string[] = [];
    for (const raw of symbols) {
      const s = raw.trim().toUpperCase();
      const e = this.memory.get(s);
      if (e && e.expiresAt > now) out.set(s, e.tick);
      else if (!out.has(s)) missing.push(s);
    }
    // While Redis is away (one warning for the link, RedisLinkState) misses go to the database without a word.
    if (missing.length && this.redisService.usable) missing = await this.fromRedis(missing, out);
    if (missing.length) await this.fromDatabase(missing, out);
    return out;
  }

  /**
   * Every stored price (up to WARM_LIMIT, the most recently updated) into memory, so the first
   * subscribe to each symbol after a start is answered from memory too; what the bus brought
   * meanwhile is kept. One query, bounded like every other (DB_STATEMENT_TIMEOUT_MS).
   */
  override async warm(): Promise<number> {
    const rows = await this.assetPrices.recentQuotes(WARM_LIMIT);
    this.keepRows(rows, null);
    return rows.length;
  }

  /** Keeps ticks in this process's memory; an older quote never overwrites a newer one. Returns the ones kept. */
  remember(ticks: readonly PriceTick[]): PriceTick[] {
    const now = Date.now();
    const fresh: PriceTick[] = [];
    for (const t of ticks) {
      const cur = this.memory.get(t.symbol);
      if (cur && Date.parse(cur.tick.as_of) > Date.parse(t.as_of)) continue;
      this.memory.set(t.symbol, { tick: t, expiresAt: now + this.ttlMs });
      fresh.push(t);
    }
    return fresh;
  }

  /** Records committed ticks in memory and in Redis (called once, by the process that committed them). */
  async put(ticks: PriceTick[]): Promise<void> {
    const fresh = this.remember(ticks);
    if (!this.redis || fresh.length === 0) return;
    const ttl = this.config.REALTIME_CACHE_TIMEOUT;
    const pipe = this.redis.pipeline();
    for (const t of fresh) pipe.set(this.keyPrefix + t.symbol, JSON.stringify(t), 'EX', ttl);
    try {
      await pipe.exec();
    } catch (err) {
      this.logger.warn(`Could not write ${fresh.length} prices to Redis: ${(err as Error).message}`);
    }
  }

  /** Counts for the status endpoint. */
  summary(now: number = Date.now()): { cached_symbols: number; stale_symbols: string[]; stale_after_seconds: number } {
    const stale: string[] = [];
    let cached = 0;
    for (const [s, e] of this.memory) {
      if (e.expiresAt <= now) continue;
      cached++;
      if (this.isStale(e.tick, now)) stale.push(s);
    }
    return { cached_symbols: cached, stale_symbols: stale.sort(), stale_after_seconds: this.staleAfterMs / 1000 };
  }

  /** Forgets everything held in memory (tests, and after a database restore). */
  clearMemory(): void {
    this.memory.clear();
  }

  private async fromRedis(symbols: string[], out: Map<string, PriceTick>): Promise<string[]> {
    try {
      const values = await this.redis!.mget(...symbols.map((s) => this.keyPrefix + s));
      const left: string[] = [];
      const now = Date.now();
      symbols.forEach((s, i) => {
        const raw = values[i];
        if (!raw) return void left.push(s);
        // Redis is outside the process: an entry is used only when it passes the bus's tick rules
        // and is the symbol it is stored under; anything else falls through to the database.
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          return void left.push(s);
        }
        const checked = checkTick(parsed, now);
        if (!checked.ok || checked.tick.symbol !== s) return void left.push(s);
        out.set(s, checked.tick);
        this.memory.set(s, { tick: checked.tick, expiresAt: now + this.ttlMs });
      });
      return left;
    } catch (err) {
      this.logger.warn(`Redis read failed, using the database: ${(err as Error).message}`);
      return symbols;
    }
  }

  private async fromDatabase(symbols: string[], out: Map<string, PriceTick>): Promise<void> {
    let rows: AssetQuoteRow[];
    try {
      rows = await this.assetPrices.latestQuotes(symbols);
    } catch (err) {
      this.logger.warn(`Database read of latest prices failed: ${(err as Error).message}`);
      return;
    }
    this.keepRows(rows, out);
  }

  /** Stored rows as ticks: into `out`, and into memory where it holds nothing current for the symbol. */
  private keepRows(rows: readonly AssetQuoteRow[], out: Map<string, PriceTick> | null): void {
    const now = Date.now();
    for (const r of rows) {
      const tick: PriceTick = {
        symbol: r.symbol,
        price: trimZeros(String(r.current_price)),
        previous_close: trim(r.previous_close),
        high: trim(r.day_high),
        low: trim(r.day_low),
        volume: trim(r.volume),
        as_of: (r.last_updated ?? new Date(0)).toISOString(),
        source: r.source ?? 'database',
      };
      const seq = Number(r.price_seq ?? 0);
      if (seq > 0) tick.seq = seq;
      out?.set(r.symbol, tick);
      const cur = this.memory.get(r.symbol);
      if (!cur || cur.expiresAt <= now) this.memory.set(r.symbol, { tick, expiresAt: now + this.ttlMs });
    }
  }
}
