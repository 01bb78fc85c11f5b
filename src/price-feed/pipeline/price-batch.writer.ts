import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { PriceTick } from '../../bus/bus.messages';
import { isUniqueViolation } from '../../database/db-errors';
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

/** What the statement returns per moved asset: its row in the sent arrays, and the columns the database computes (trimmed). */
interface UpdatedRow {
  ord: string;
  current_price: string;
  previous_close: string | null;
  day_high: string | null;
  day_low: string | null;
  volume: string | null;
  source: string | null;
  price_seq: string;
}

/** The pg client under a QueryRunner (rows and row count; a duplicate tick's error is not logged by TypeORM). */
type PgClient = { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }> };

/**
 * The whole write as ONE statement (one round trip, one parse of the arrays): the quotes are
 * unnested once (WITH ORDINALITY), the rows 1..$9 update their asset (only where the quote is not
 * older than what is stored, advancing price_seq), the rows after $10 become 'tick' rows of
 * price_history, and the moved assets come back in the arrays' order, with the history row
 * count on each (NULL ord: a last row carrying only the count, when no asset moved).
 * Sub-statements of one statement see the same snapshot: the INSERT's asset ids are those
 * the UPDATE saw (ids never change).
 */
const writeSql = (onConflict: boolean) => `WITH v AS MATERIALIZED (
    SELECT * FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::timestamptz[], $8::text[])
      WITH ORDINALITY AS v(symbol, price, previous_close, high, low, volume, as_of, source, ord)
  ), u AS (
    UPDATE assets AS a SET
      current_price  = v.price,
      previous_close = COALESCE(v.previous_close, a.previous_close),
      day_high = COALESCE(v.high, GREATEST(CASE WHEN (a.last_updated AT TIME ZONE 'UTC')::date = (v.as_of AT TIME ZONE 'UTC')::date THEN a.day_high END, v.price)),
      day_low  = COALESCE(v.low,  LEAST(CASE WHEN (a.last_updated AT TIME ZONE 'UTC')::date = (v.as_of AT TIME ZONE 'UTC')::date THEN a.day_low END, v.price)),
      volume = COALESCE(v.volume, a.volume),
      last_updated = v.as_of,
      source = v.source,
      price_seq = a.price_seq + 1
    FROM v
    WHERE v.ord <= $9 AND a.symbol = v.symbol AND (a.last_updated IS NULL OR a.last_updated <= v.as_of)
    RETURNING v.ord, trim_scale(a.current_price)::text AS current_price, trim_scale(a.previous_close)::text AS previous_close,
      trim_scale(a.day_high)::text AS day_high, trim_scale(a.day_low)::text AS day_low, trim_scale(a.volume)::text AS volume, a.source, a.price_seq
  ), h AS (
    INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
    SELECT a.id, v.as_of, 'tick', v.price, v.price, v.price, v.price, COALESCE(v.volume, 0)
      FROM v JOIN assets a ON a.symbol = v.symbol
     WHERE v.ord > $10${
       onConflict
         ? `
    ON CONFLICT (asset_id, "interval", "timestamp") DO NOTHING`
         : ''
     }
    RETURNING 1
  ), n AS (SELECT count(*) AS history_rows FROM h)
  SELECT u.*, n.history_rows FROM u, n
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, n.history_rows FROM n WHERE NOT EXISTS (SELECT 1 FROM u)
  ORDER BY 1`;

/**
 * Writes one validated batch in ONE transaction, as ONE statement (see writeSql): a multi-row
 * UPDATE of the assets' current fields (only where the quote is not older than what is stored),
 * advancing each moved asset's price_seq (the cluster-wide `seq`, returned with the tick), and a
 * multi-row INSERT of 'tick' rows into price_history. Without a fence the statement is its own
 * transaction (autocommit); with one, fence and statement share BEGIN … COMMIT. All or
 * nothing; callable on its own (the ingest benchmark does).
 *
 * The INSERT is first tried plain: ON CONFLICT's speculative insertion costs about 30% of the
 * INSERT (5,000 rows), and a tick is normally new. Only when one is already there (a batch sent
 * again, a repeated vendor timestamp) is the whole transaction run again with ON CONFLICT DO
 * NOTHING, so a retried batch adds nothing twice.
 *
 * Quotes without a day high/low (e.g. CoinGecko) widen the stored range of
 * the same UTC day, or start a new one.
 */
@Injectable()
export class PriceBatchWriter {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async write(quotes: ValidQuote[], fence?: WriteFence): Promise<WriteResult> {
    if (quotes.length === 0) return { committed: [], historyRows: 0 };
    const { rows, updateEnd, historyStart, order } = planRows(quotes);
    const asOf = rows.map((q) => q.as_of.toISOString());
    const params = [
      pgArray(rows.map((q) => q.symbol)),
      pgArray(rows.map((q) => q.price)),
      pgArray(rows.map((q) => q.previous_close)),
      pgArray(rows.map((q) => q.high)),
      pgArray(rows.map((q) => q.low)),
      pgArray(rows.map((q) => q.volume)),
      pgArray(asOf),
      pgArray(rows.map((q) => q.source)),
      updateEnd,
      historyStart,
    ];

    const runner = this.db.createQueryRunner();
    try {
      const client = (await runner.connect()) as PgClient;
      let result: UpdatedRow[] | undefined;
      for (const onConflict of [false, true]) {
        try {
          result = await this.run(runner, client, writeSql(onConflict), params, fence);
          break;
        } catch (err) {
          // A tick already stored: the statement (and the transaction) rolled back whole; again, skipping such ticks.
          if (onConflict || !isUniqueViolation(err)) throw err;
        }
      }
      const out = result!;
      const historyRows = out.length ? Number((out[0] as UpdatedRow & { history_rows: string }).history_rows) : 0;
      const committed: PriceTick[] = [];
      for (const r of out) {
        if (r.ord == null) continue;
        const i = Number(r.ord) - 1;
        committed.push({
          symbol: rows[i].symbol,
          price: r.current_price,
          previous_close: r.previous_close,
          high: r.day_high,
          low: r.day_low,
          volume: r.volume,
          // last_updated = v.as_of, sent as this ISO string (millisecond precision, read back unchanged).
          as_of: asOf[i],
          source: r.source ?? 'unknown',
          seq: Number(r.price_seq),
        });
      }
      if (order) committed.sort((a, b) => order.get(a.symbol)! - order.get(b.symbol)!);
      return { committed, historyRows };
    } finally {
      await runner.release().catch(() => undefined);
    }
  }

  /** One attempt: the statement alone (autocommit), or fence + statement in one transaction. */
  private async run(runner: QueryRunner, client: PgClient, sql: string, params: unknown[], fence?: WriteFence): Promise<UpdatedRow[]> {
    if (!fence) return (await client.query(sql, params)).rows as UpdatedRow[];
    await runner.startTransaction();
    try {
      await fence(runner);
      const rows = (await client.query(sql, params)).rows as UpdatedRow[];
      await runner.commitTransaction();
      return rows;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
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

/**
 * The rows to send, in three runs: [update only][update and history][history only], so that
 * rows 1..updateEnd update their asset and rows after historyStart go to price_history.
 * Several quotes of one symbol (a carried-over batch plus a new one): all go to history (one per
 * symbol and as_of, the first), the newest (the last of equal times) to the asset row. In the
 * usual batch (one quote per symbol) the rows are the quotes, in order. `order` (only with
 * repeated symbols) is each symbol's place among the newest quotes (order of first appearance),
 * the order the moved assets are returned in.
 */
export function planRows(quotes: ValidQuote[]): { rows: ValidQuote[]; updateEnd: number; historyStart: number; order?: Map<string, number> } {
  const symbols = new Set<string>();
  for (const q of quotes) symbols.add(q.symbol);
  if (symbols.size === quotes.length) return { rows: quotes, updateEnd: quotes.length, historyStart: 0 };
  const newest = new Map<string, ValidQuote>();
  for (const q of quotes) {
    const cur = newest.get(q.symbol);
    if (!cur || cur.as_of.getTime() <= q.as_of.getTime()) newest.set(q.symbol, q);
  }
  const seen = new Set<string>();
  const history = new Set<ValidQuote>();
  for (const q of quotes) {
    const key = `${q.symbol}@${q.as_of.getTime()}`;
    if (!seen.has(key)) {
      seen.add(key);
      history.add(q);
    }
  }
  const latest = [...newest.values()];
  const updateOnly = latest.filter((q) => !history.has(q));
  const both = latest.filter((q) => history.has(q));
  const latestSet = new Set(latest);
  const historyOnly = [...history].filter((q) => !latestSet.has(q));
  return {
    rows: [...updateOnly, ...both, ...historyOnly],
    updateEnd: updateOnly.length + both.length,
    historyStart: updateOnly.length,
    order: new Map(latest.map((q, i) => [q.symbol, i])),
  };
}
