// Child of the daily-snapshots scenario: computes 5 years of daily snapshots (value, cost, cash, flows)
// for N portfolios of 10 positions each with the production build's dailySnapshots, from a table of
// daily closes as PortfolioPerformanceService loads them, and reports the time per portfolio.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.env.BENCH_DIST_DIR);
const require = createRequire(pathToFileURL(join(dist, 'main.js')));
const { dailySnapshots } = require(join(dist, 'portfolios/ledger/daily-snapshots.js'));

const portfolios = Number(process.env.BENCH_SNAPSHOT_PORTFOLIOS);
const SYMBOLS = 50;
const POSITIONS = 10;
const FROM = '2021-01-01';
const TO = '2025-12-31';
const DAY = 86_400_000;

// One close per weekday per symbol (what the '1d' bars hold).
const closes = new Map();
for (let t = Date.parse(FROM); t <= Date.parse(TO); t += DAY) {
  const d = new Date(t);
  if (d.getUTCDay() % 6 === 0) continue;
  const date = d.toISOString().slice(0, 10);
  for (let s = 0; s < SYMBOLS; s++) closes.set(`S${s} ${date}`, (100 + ((t / DAY + s * 7) % 90) + s / 100).toFixed(2));
}
const close = (symbol, date) => closes.get(`${symbol} ${date}`) ?? null;

// Each portfolio: a deposit, 10 buys in the first year, a sale and a dividend a year for each position.
function ledger(p) {
  const txs = [{ seq: 0, type: 'DEPOSIT', symbol: null, quantity: null, price: '100000', fee: '0', currency: 'USD', date: FROM }];
  let seq = 1;
  for (let k = 0; k < POSITIONS; k++) {
    const symbol = `S${(p + k * 5) % SYMBOLS}`;
    const month = String(1 + k).padStart(2, '0');
    txs.push({ seq: seq++, type: 'BUY', symbol, quantity: String(10 + k), price: '100', fee: '1', currency: 'USD', date: `2021-${month}-15` });
    for (let y = 2022; y <= 2025; y++) {
      txs.push({ seq: seq++, type: 'DIVIDEND', symbol, quantity: '1', price: '2.5', fee: '0', currency: 'USD', date: `${y}-${month}-20` });
    }
    txs.push({ seq: seq++, type: 'SELL', symbol, quantity: '2', price: '120', fee: '1', currency: 'USD', date: `2024-${month}-10` });
  }
  return txs;
}

const ledgers = Array.from({ length: portfolios }, (_, p) => ledger(p));
// Warm-up (JIT), then the measured pass.
for (let p = 0; p < Math.min(20, portfolios); p++) dailySnapshots(ledgers[p], close, FROM, TO, { today: TO });
const t0 = performance.now();
let days = 0;
for (const txs of ledgers) {
  const r = dailySnapshots(txs, close, FROM, TO, { today: TO });
  if (!r.ok) throw new Error(`snapshot refused: ${JSON.stringify(r.problem)}`);
  days += r.days.length;
}
const ms = performance.now() - t0;
process.send({ portfolios, positions: POSITIONS, days: days / portfolios, totalMs: Math.round(ms), msPerPortfolio: Math.round((ms / portfolios) * 100) / 100 });
process.exit(0);
