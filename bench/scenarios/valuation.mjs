// Valuation: N portfolios x 10 positions (10,000 x 10 = 100,000 positions in full runs) loaded by the
// live valuation engine; time to revalue after a 500-symbol price batch and after one position edit.
// With `fx`: every portfolio is in EUR, half the symbols are quoted in EUR and half in USD (so each
// portfolio has its own holdings and a USD leg converted through EURUSD), and the batch moves EURUSD
// too (499 symbols + the pair): every portfolio is revalued with a currency conversion.
import { benchSymbols, insertBenchAssets, pgQuery } from '../lib/env.mjs';
import { reportProfile, scratchDatabase, startEngineWorker } from './engine.mjs';

export async function runValuation(ctx, { portfolios, positions, runs, symbols: symbolCount = 500, fx = false }) {
  const db = await scratchDatabase(ctx, fx ? 'valuation_fx' : 'valuation');
  const worker = startEngineWorker(ctx, db.url);
  try {
    const symbols = benchSymbols(symbolCount);
    await insertBenchAssets(db.url, symbols);
    const owners = Math.max(1, Math.ceil(portfolios / 10));
    await pgQuery(db.url, `INSERT INTO users (username, password_hash) SELECT 'bench_user_' || g, 'x' FROM generate_series(1, $1::int) g`, [owners]);
    await pgQuery(
      db.url,
      `INSERT INTO portfolios (owner_id, name)
       SELECT u.id, 'Bench ' || g FROM generate_series(0, $1::int - 1) g JOIN users u ON u.username = 'bench_user_' || ((g % $2::int) + 1)`,
      [portfolios, owners],
    );
    // Portfolio n holds symbols (n*10 + j) mod S, j < positions: every symbol is held by the same number of portfolios.
    await pgQuery(
      db.url,
      `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost)
       SELECT p.id, a.id, ((j + 1) * 1.5)::numeric, 100
         FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM portfolios) p
         CROSS JOIN generate_series(0, $1::int - 1) j
         JOIN (SELECT id, row_number() OVER (ORDER BY symbol) - 1 AS k FROM assets) a ON a.k = (p.n * $1::int + j) % $2::int`,
      [positions, symbolCount],
    );
    let batchSymbols = symbols;
    if (fx) {
      await pgQuery(
        db.url,
        `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, last_updated, source)
         VALUES ('EURUSD', 'Euro / US Dollar', 'FOREX', 'USD', 'FX', 1.0935, 1.09, now(), 'bench') ON CONFLICT (symbol) DO NOTHING`,
      );
      await pgQuery(db.url, `UPDATE assets SET currency = 'EUR' WHERE symbol = ANY($1::text[])`, [symbols.filter((_, i) => i % 2 === 1)]);
      await pgQuery(db.url, `UPDATE portfolios SET base_currency = 'EUR'`);
      batchSymbols = [...symbols.slice(0, symbols.length - 1), 'EURUSD'];
    }
    const [edit] = (
      await pgQuery(
        db.url,
        `SELECT pos.id AS position_id, p.id AS portfolio_id, p.owner_id FROM positions pos JOIN portfolios p ON p.id = pos.portfolio_id ORDER BY pos.id LIMIT 1`,
      )
    ).rows;
    const result = await worker.call(
      'valuation',
      { symbols: batchSymbols, runs, editPortfolioId: edit.portfolio_id, editOwnerId: edit.owner_id, editPositionId: edit.position_id, watchedEvery: 100 },
      300_000,
    );
    reportProfile(ctx, 'valuation');
    ctx.log(
      `valuation${fx ? ' (EUR portfolios, USD and EUR holdings, EURUSD in the batch)' : ''}: ${result.portfolios} portfolios / ${result.positions} positions; batch median ${result.batch.medianMs} ms (${result.batch.changed} changed); edit median ${result.edit.medianMs} ms; boot+load ${result.boot.medianMs} ms; 1% watched ${result.watched?.medianMs ?? '–'} ms`,
    );
    return { ...result, positionsPerPortfolio: positions, batchSymbols: batchSymbols.length, fx };
  } finally {
    await worker.close();
    await db.drop();
  }
}
