// Ingest: batches of 50, 500 and 5,000 quotes through the price feed's own parts, as its pipeline
// runs them for the leader: known prices (PricePipeline.knownAssets: kept in memory, one SELECT in
// the untimed warm-up run), QuoteValidator, PriceBatchWriter (one transaction: one multi-row UPDATE
// of the assets, one multi-row INSERT into price_history) on a real PostgreSQL, then
// PricePipeline.remember of the committed rows.
import { pgQuery } from '../lib/env.mjs';
import { reportProfile, scratchDatabase, startEngineWorker } from './engine.mjs';

export async function runIngest(ctx, { runs, sizes = [50, 500, 5_000] }) {
  const db = await scratchDatabase(ctx, 'ingest');
  const worker = startEngineWorker(ctx, db.url);
  try {
    const count = Math.max(...sizes);
    const symbols = Array.from({ length: count }, (_, i) => `BI${String(i).padStart(4, '0')}`);
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
