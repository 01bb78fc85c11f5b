import { Command, CommandRunner, Option } from 'nest-commander';
import { hostname } from 'node:os';
import { SYMBOL_PATTERN } from '../../assets/catalog/catalog';
import { AppConfig } from '../../config/app-config';
import { HistoryResult, HistoryService } from '../pipeline/history.service';
import { PricePipeline, SymbolResult } from '../pipeline/price-pipeline.service';

export interface UpdateAssetPricesOptions {
  symbols?: string[];
  historical?: boolean;
  days?: number;
  dryRun?: boolean;
}

interface Row {
  symbol: string;
  status: string;
  fetched: string;
  stored: string;
  rejected: string;
  price: string;
  source: string;
  note: string;
}

const PRICED = new Set(['updated', 'valid', 'unchanged']);

/** Renders rows as an aligned text table. */
function renderTable(rows: Row[]): string {
  const cols: (keyof Row)[] = ['symbol', 'status', 'fetched', 'stored', 'rejected', 'price', 'source', 'note'];
  const head: Row = {
    symbol: 'SYMBOL',
    status: 'STATUS',
    fetched: 'FETCHED',
    stored: 'STORED',
    rejected: 'REJECTED',
    price: 'PRICE',
    source: 'SOURCE',
    note: 'NOTE',
  };
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...rows.map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row) =>
    cols
      .map((c) => (c === 'price' || c === 'fetched' || c === 'stored' ? r[c].padStart(width[c]) : r[c].padEnd(width[c])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

/**
 * `update-asset-prices`: one-shot price update through the same pipeline as
 * the feed (providers with failover → validation → one transaction per batch
 * → publish after commit). `--symbols AAPL MSFT GOOGL` limits it to those
 * symbols, `--historical --days 30` loads daily history instead, `--dry-run`
 * fetches and validates but writes nothing. Prints a table per symbol and
 * fails (exit code 1) when nothing could be priced.
 */
@Command({
  name: 'update-asset-prices',
  description: 'Fetch current prices (or --historical daily bars) for all or some assets, validate and store them',
})
export class UpdateAssetPricesCommand extends CommandRunner {
  constructor(
    private readonly pipeline: PricePipeline,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  @Option({ flags: '-s, --symbols <symbols...>', description: 'Symbols to update (space or comma separated; default: every asset)' })
  parseSymbols(value: string, previous: string[] = []): string[] {
    return [
      ...previous,
      ...value
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean),
    ];
  }

  @Option({ flags: '--historical', description: 'Load daily history ("1d" bars) instead of current prices' })
  parseHistorical(): boolean {
    return true;
  }

  @Option({ flags: '-d, --days <days>', description: 'Days of history with --historical (1..3650, default 30)' })
  parseDays(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 3650) throw new Error(`--days must be a whole number from 1 to 3650, got "${value}"`);
    return n;
  }

  @Option({ flags: '--dry-run', description: 'Fetch and validate, but write and publish nothing' })
  parseDryRun(): boolean {
    return true;
  }

  async run(_params: string[], options: UpdateAssetPricesOptions = {}): Promise<void> {
    const out = process.stdout;
    const dryRun = !!options.dryRun;
    const requested = options.symbols ? [...new Set(options.symbols)] : undefined;
    const invalid = (requested ?? []).filter((s) => !SYMBOL_PATTERN.test(s));
    const wanted = requested ? requested.filter((s) => SYMBOL_PATTERN.test(s)) : [...(await this.pipeline.loadAssets()).keys()];
    if (requested && requested.length === 0) throw new Error('--symbols needs at least one symbol');

    let rows: Row[];
    if (options.historical) {
      const days = options.days ?? 30;
      out.write(`Daily history, last ${days} days, ${wanted.length} symbol(s)${dryRun ? ' (dry run: nothing is written)' : ''}\n`);
      rows = (await this.history.update(wanted, days, { dryRun })).map(historyRow);
    } else {
      out.write(`Current prices, ${wanted.length} symbol(s)${dryRun ? ' (dry run: nothing is written)' : ''}\n`);
      const size = this.config.REALTIME_BATCH_SIZE;
      const results: SymbolResult[] = [];
      for (let i = 0; i < wanted.length; i += size) {
        const report = await this.pipeline.runBatch(wanted.slice(i, i + size), { origin: `update-asset-prices:${hostname()}:${process.pid}`, dryRun });
        results.push(...report.results);
      }
      rows = results.map(quoteRow);
    }
    for (const s of invalid)
      rows.push({ symbol: s, status: 'invalid', fetched: '-', stored: '-', rejected: '-', price: '-', source: '-', note: 'not a valid symbol' });
    out.write(renderTable(rows));

    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    out.write(`${rows.length} symbol(s): ${[...counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
    const priced = rows.filter((r) => PRICED.has(r.status)).length;
    if (priced === 0) throw new Error('nothing could be priced (see the table above)');
  }
}

function quoteRow(r: SymbolResult): Row {
  return {
    symbol: r.symbol,
    status: r.status,
    fetched: r.fetched ? 'yes' : 'no',
    stored: r.stored ? 'yes' : 'no',
    rejected: r.status === 'rejected' ? String(r.reason) : '-',
    price: r.price ?? '-',
    source: r.source ?? '-',
    note: r.status === 'rejected' || r.status === 'unpriced' || r.status === 'failed' ? (r.detail ?? '').slice(0, 120) : '',
  };
}

function historyRow(r: HistoryResult): Row {
  return {
    symbol: r.symbol,
    status: r.status,
    fetched: String(r.fetched),
    stored: String(r.stored),
    rejected: String(r.rejected),
    price: r.price ?? '-',
    source: r.source ?? '-',
    note: (r.detail ?? '').slice(0, 120),
  };
}
