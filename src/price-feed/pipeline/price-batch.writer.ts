import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { PriceTick } from '../../bus/bus.messages';
import { isUniqueViolation } from '../../database/db-errors';
import { trimZeros } from '../../database/decimal.transformer';
import type { ValidQuote } from '../validation/quote-validator';
import { pgArray } from './pg-array';

/** Checks, inside the batch's transaction, that this process still leads (see FeedLeaderLock). */
export type WriteFence = (runner: QueryRunner) => Promise<void>;

export interface WriteResult {
  /** Ticks whose asset row moved forward, as stored (what gets published). */
  committed: PriceTick[];
  /** New price_history rows. */
  historyRows: number;
}

/** What the UPDATE returns: the columns the database computes (last_updated is the quote's as_of, set as sent). */
interface UpdatedRow {
  symbol: string;
  current_price: string;
  previous_close: string | null;
  day_high: string | null;
  day_low: string | null;
  volume: string | null;
  source: string | null;
  price_seq: string;
}

const trim = (v: string | null): string | null => (v == null ? null : trimZeros(String(v)));

/**
 * Writes one validated batch in ONE transaction: ONE multi-row UPDATE … FROM
 * unnest(…) of the assets' current fields (only where the quote is not older
 * than what is stored), advancing each moved asset's price_seq (the cluster-wide
 * `seq`, returned with the tick), and ONE multi-row INSERT of 'tick' rows into
 * price_history (ticks already there are skipped, so a retried batch adds
 * nothing twice: see insertHistory). All or nothing; callable on its own (the
 * ingest benchmark does).
 *
 * Quotes without a day high/low (e.g. CoinGecko) widen the stored range of
 * the same UTC day, or start a new one.
 */
@Injectable()
export class PriceBatchWriter {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async write(quotes: ValidQuote[], fence?: WriteFence): Promise<WriteResult> {
    if (quotes.length === 0) return { committed: [], historyRows: 0 };
    // Several quotes of one symbol (a carried-over batch plus a new one): all go to history, the newest to the asset row.
    const newest = new Map<string, ValidQuote>();
    const seen = new Set<string>();
    const history: ValidQuote[] = [];
    for (const q of quotes) {
      const cur = newest.get(q.symbol);
      if (!cur || cur.as_of.getTime() <= q.as_of.getTime()) newest.set(q.symbol, q);
      const key = `${q.symbol}@${q.as_of.getTime()}`;
      if (!seen.has(key)) {
        seen.add(key);
        history.push(q);
      }
    }
    const latest = [...newest.values()];
    const asOfIso = new Map<string, string>();
    for (const q of latest) asOfIso.set(q.symbol, q.as_of.toISOString());

    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      try {
        if (fence) await fence(runner);
        const updated = (
          await runner.query(
            `UPDATE assets AS a SET
             current_price  = v.price,
             previous_close = COALESCE(v.previous_close, a.previous_close),
             day_high = COALESCE(v.high, GREATEST(CASE WHEN (a.last_updated AT TIME ZONE 'UTC')::date = (v.as_of AT TIME ZONE 'UTC')::date THEN a.day_high END, v.price)),
             day_low  = COALESCE(v.low,  LEAST(CASE WHEN (a.last_updated AT TIME ZONE 'UTC')::date = (v.as_of AT TIME ZONE 'UTC')::date THEN a.day_low END, v.price)),
             volume = COALESCE(v.volume, a.volume),
             last_updated = v.as_of,
             source = v.source,
             price_seq = a.price_seq + 1
           FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::timestamptz[], $8::text[])
             AS v(symbol, price, previous_close, high, low, volume, as_of, source)
           WHERE a.symbol = v.symbol AND (a.last_updated IS NULL OR a.last_updated <= v.as_of)
           RETURNING a.symbol, a.current_price, a.previous_close, a.day_high, a.day_low, a.volume, a.source, a.price_seq`,
            [
              pgArray(latest.map((q) => q.symbol)),
              pgArray(latest.map((q) => q.price)),
              pgArray(latest.map((q) => q.previous_close)),
              pgArray(latest.map((q) => q.high)),
              pgArray(latest.map((q) => q.low)),
              pgArray(latest.map((q) => q.volume)),
              pgArray(latest.map((q) => asOfIso.get(q.symbol)!)),
              pgArray(latest.map((q) => q.source)),
            ],
            true,
          )
        ).records as UpdatedRow[];
        const historyParams = [
          pgArray(history.map((q) => q.symbol)),
          pgArray(history.map((q) => q.as_of.toISOString())),
          pgArray(history.map((q) => q.price)),
          pgArray(history.map((q) => q.volume)),
        ];
        const inserted = await this.insertHistory(runner, historyParams);
        await runner.commitTransaction();
        return {
          committed: updated.map((r) => ({
            symbol: r.symbol,
            price: trimZeros(String(r.current_price)),
            previous_close: trim(r.previous_close),
            high: trim(r.day_high),
            low: trim(r.day_low),
            volume: trim(r.volume),
            // last_updated = v.as_of, sent as this ISO string (millisecond precision, read back unchanged).
            as_of: asOfIso.get(r.symbol)!,
            source: r.source ?? 'unknown',
            seq: Number(r.price_seq),
          })),
          historyRows: inserted,
        };
      } catch (err) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await runner.release().catch(() => undefined);
    }
  }

  /**
   * The tick rows, counted by the command's row count (no RETURNING rows to parse). First a plain
   * INSERT in a savepoint: ON CONFLICT's speculative insertion costs about 30% of the statement
   * (5,000 rows), and a tick is normally new. Only when one is already there (a batch sent again,
   * a repeated vendor timestamp) does the batch take the ON CONFLICT DO NOTHING path.
   */
  private async insertHistory(runner: QueryRunner, params: string[]): Promise<number> {
    const insert = `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
           SELECT a.id, v.as_of, 'tick', v.price, v.price, v.price, v.price, COALESCE(v.volume, 0)
             FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[]) AS v(symbol, as_of, price, volume)
             JOIN assets a ON a.symbol = v.symbol`;
    await runner.query('SAVEPOINT price_history_insert');
    try {
      // On the driver's connection: an expected duplicate is not logged as a failed query.
      const client = (await runner.connect()) as { query(sql: string, params: unknown[]): Promise<{ rowCount: number | null }> };
      return (await client.query(insert, params)).rowCount ?? 0;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await runner.query('ROLLBACK TO SAVEPOINT price_history_insert');
      return (
        (
          await runner.query(
            `${insert}
           ON CONFLICT (asset_id, "interval", "timestamp") DO NOTHING`,
            params,
            true,
          )
        ).affected ?? 0
      );
    }
  }

  /** Upserts daily bars ('1d' rows) of one asset in one statement; returns how many rows were written. */
  async writeDaily(
    symbol: string,
    bars: Array<{ date: string; open: string; high: string; low: string; close: string; volume: string | null }>,
  ): Promise<number> {
    if (bars.length === 0) return 0;
    const rows = (await this.db.query(
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
       SELECT a.id, (v.d || 'T00:00:00Z')::timestamptz, '1d', v.o, v.h, v.l, v.c, COALESCE(v.vol, 0)
         FROM unnest($2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[]) AS v(d, o, h, l, c, vol)
         JOIN assets a ON a.symbol = $1
       ON CONFLICT (asset_id, "interval", "timestamp") DO UPDATE
         SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
       RETURNING 1`,
      [
        symbol,
        bars.map((b) => b.date),
        bars.map((b) => b.open),
        bars.map((b) => b.high),
        bars.map((b) => b.low),
        bars.map((b) => b.close),
        bars.map((b) => b.volume),
      ],
    )) as unknown[];
    return rows.length;
  }
}
