// Ingest: batches of 50, 500, 5,000 and (full run only) 50,000 quotes through the price feed's own parts, as its pipeline
// runs them for the leader: known prices (PricePipeline.knownAssets: kept in memory, one SELECT in
// the untimed warm-up run), QuoteValidator, PriceBatchWriter (one statement: a multi-row UPDATE
// of the assets and a multi-row INSERT into price_history) on a real PostgreSQL, then
// PricePipeline.remember of the committed rows.
import { pgQuery } from '../lib/env.mjs';
import { reportProfile, scratchDatabase, startEngineWorker } from './engine.mjs';

/** Batch sizes: 50,000 only in the full run (with its 50,000 assets the scenario took 5-12 s on a busy 2-core machine). */
export const ingestSizes = (quick) => (quick ? [50, 500, 5_000] : [50, 500, 5_000, 50_000]);

export async function runIngest(ctx, { runs, sizes = ingestSizes(ctx.quick) }) {
  const db = await scratchDatabase(ctx, 'ingest');
  const worker = startEngineWorker(ctx, db.url);
  try {
    const count = Math.max(...sizes);
    const symbols = Array.from({ length: count }, (_, i) => `BI${String(i).padStart(5, '0')}`);
    await pgQuery(
      db.url,
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange)
       SELECT s, 'Bench ingest ' || s, 'STOCK', 'USD', 'BENCH' FROM unnest($1::text[]) AS s`,
      [symbols],
    );
    const result = await worker.call('ingest', { symbols, sizes, runs }, 300_000);
    reportProfile(ctx, 'ingest');
    for (const b of result.batches)
      ctx.log(
        `ingest ${b.size}: median ${b.medianMs} ms (${b.quotesPerSec} quotes/s; load ${b.loadMedianMs} validate ${b.validateMedianMs} write ${b.writeMedianMs})`,
      );
    return { path: 'known prices (memory; SELECT when missing) → QuoteValidator.validate → PriceBatchWriter.write', ...result };
  } finally {
    await worker.close();
    await db.drop();
  }
}
