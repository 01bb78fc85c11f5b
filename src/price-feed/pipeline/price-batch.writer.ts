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

/**
 * What the statement returns per moved asset (rowMode 'array'): its row in the sent arrays, its new
 * price_seq, the stored previous close, day high, day low and volume, each only where the
 * database decided it (the quote had none, or the batch's values are not all canonical: see
 * `known`), and the stored price when the batch's prices are not all canonical; NULL where the
 * quote's own string is what was stored. The last column is the history
 * row count (on every row; a row with a NULL ord carries only the count, when no asset moved).
 */
type UpdatedRow = [
  ord: string | null,
  priceSeq: string | null,
  previousClose: string | null,
  high: string | null,
  low: string | null,
  volume: string | null,
  price: string | null,
  historyRows: string,
];

/** The pg client under a QueryRunner (rows and row count; a duplicate tick's error is not logged by TypeORM). */
type PgClient = { query(config: { text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[]; rowCount: number | null }> };

/**
 * A decimal as trim_scale(numeric(24,8 or 28,8))::text prints it: no sign, no leading zero, at
 * most 8 decimals, no trailing zero. QuoteValidator's strings always are (it rounds to 8 decimals
 * and prints canonically); for such a value the stored number reads back as the same string.
 */
const CANONICAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]{0,7}[1-9])?$/;

/** Whether every non-null value of a column reads back unchanged from the database (see CANONICAL). */
function known(values: ReadonlyArray<string | null>): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && !CANONICAL.test(v)) return false;
  }
  return true;
}

/**
 * The whole write as ONE statement (one round trip, one parse of the arrays): the quotes are
 * unnested once (WITH ORDINALITY), the rows 1..$9 update their asset (only where the quote is not
 * older than what is stored, advancing price_seq), the rows after $10 become 'tick' rows of
 * price_history, and the moved assets come back (in no particular order: the caller puts them in
 * the arrays' order by `ord`), with the history row count on each (NULL ord: a last row carrying
 * only the count, when no asset moved). Only what the database decides comes back: price_seq,
 * and a stored value the quote did not give (a NULL previous close, high, low or volume keeps or
 * widens the stored one). The price, the source and the values the quote gave are its own
 * strings, unless $11..$14 say a column of the batch is not canonical (then the stored value
 * comes back for every row: $11 previous close, $12 high, $13 low, $14 volume; $15 the price).
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
    RETURNING v.ord, a.price_seq,
      CASE WHEN $11 OR v.previous_close IS NULL THEN trim_scale(a.previous_close)::text END,
      CASE WHEN $12 OR v.high IS NULL THEN trim_scale(a.day_high)::text END,
      CASE WHEN $13 OR v.low IS NULL THEN trim_scale(a.day_low)::text END,
      CASE WHEN $14 OR v.volume IS NULL THEN trim_scale(a.volume)::text END,
      CASE WHEN $15 THEN trim_scale(a.current_price)::text END
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
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, n.history_rows FROM n WHERE NOT EXISTS (SELECT 1 FROM u)`;

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
 *
 * Large batches (50,000) take the same statement: COPY into an ON COMMIT DROP temporary table,
 * then the same UPDATE and INSERT from it, was measured no faster at 5,000 and 50,000 rows (the
 * time is PostgreSQL's per-row work: docs/performance.md, ingest item 9). The statement runs
 * under the pool's bounds (statement_timeout, the client's read timeout: db-bounds.ts).
 */
@Injectable()
export class PriceBatchWriter {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async write(quotes: ValidQuote[], fence?: WriteFence): Promise<WriteResult> {
    if (quotes.length === 0) return { committed: [], historyRows: 0 };
    const { rows, updateEnd, historyStart, order } = planRows(quotes);
    const n = rows.length;
    const symbol = new Array<string>(n);
    const price = new Array<string>(n);
    const previousClose = new Array<string | null>(n);
    const high = new Array<string | null>(n);
    const low = new Array<string | null>(n);
    const volume = new Array<string | null>(n);
    const asOf = new Array<string>(n);
    const source = new Array<string>(n);
    let lastMs = NaN;
    let lastIso = '';
    for (let i = 0; i < n; i++) {
      const q = rows[i];
      symbol[i] = q.symbol;
      price[i] = q.price;
      previousClose[i] = q.previous_close;
      high[i] = q.high;
      low[i] = q.low;
      volume[i] = q.volume;
      source[i] = q.source;
      // A batch's quotes often share their time: one ISO string per run of equal times.
      const ms = q.as_of.getTime();
      if (ms !== lastMs) {
        lastMs = ms;
        lastIso = q.as_of.toISOString();
      }
      asOf[i] = lastIso;
    }
    // Columns whose strings are not all as the database prints them: their stored values come back (see writeSql).
    // The others are plain digits and a point, as ISO timestamps are plain: sent without a quoting test.
    const fromDb = {
      previousClose: !known(previousClose),
      high: !known(high),
      low: !known(low),
      volume: !known(volume),
      price: !known(price),
    };
    const params = [
      pgArray(symbol),
      pgArray(price, !fromDb.price),
      pgArray(previousClose, !fromDb.previousClose),
      pgArray(high, !fromDb.high),
      pgArray(low, !fromDb.low),
      pgArray(volume, !fromDb.volume),
      pgArray(asOf, true),
      pgArray(source),
      updateEnd,
      historyStart,
      fromDb.previousClose,
      fromDb.high,
      fromDb.low,
      fromDb.volume,
      fromDb.price,
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
      const historyRows = out.length ? Number(out[0][7]) : 0;
      // The moved assets in the arrays' order (the statement returns them unordered).
      const slots = new Array<PriceTick | undefined>(updateEnd);
      for (const r of out) {
        if (r[0] == null) continue;
        const i = Number(r[0]) - 1;
        const q = rows[i];
        slots[i] = {
          symbol: q.symbol,
          price: fromDb.price ? r[6]! : q.price,
          previous_close: fromDb.previousClose || q.previous_close == null ? r[2] : q.previous_close,
          high: fromDb.high || q.high == null ? r[3] : q.high,
          low: fromDb.low || q.low == null ? r[4] : q.low,
          volume: fromDb.volume || q.volume == null ? r[5] : q.volume,
          // last_updated = v.as_of, sent as this ISO string (millisecond precision, read back unchanged).
          as_of: asOf[i],
          source: q.source ?? 'unknown',
          seq: Number(r[1]),
        };
      }
      const committed: PriceTick[] = [];
      for (let i = 0; i < updateEnd; i++) {
        const t = slots[i];
        if (t) committed.push(t);
      }
      if (order) committed.sort((a, b) => order.get(a.symbol)! - order.get(b.symbol)!);
      return { committed, historyRows };
    } finally {
      await runner.release().catch(() => undefined);
    }
  }

  /** One attempt: the statement alone (autocommit), or fence + statement in one transaction. */
  private async run(runner: QueryRunner, client: PgClient, text: string, values: unknown[], fence?: WriteFence): Promise<UpdatedRow[]> {
    if (!fence) return (await client.query({ text, values, rowMode: 'array' })).rows as UpdatedRow[];
    await runner.startTransaction();
    try {
      await fence(runner);
      const rows = (await client.query({ text, values, rowMode: 'array' })).rows as UpdatedRow[];
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
