import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import type { TransactionImportReport, TransactionJson, TransactionList } from '../../common/api-types';
import { fieldMessage, VALIDATION_OPTIONS } from '../../common/validation';
import { Portfolio } from '../entities/portfolio.entity';
import type { TransactionType } from '../ledger/ledger.types';
import {
  LedgerRefusedException,
  PortfolioLedgerService,
  toHoldingJson,
  toTransactionJson,
  TRANSACTION_COLUMNS,
  TransactionRow,
} from './portfolio-ledger.service';
import { defaultCurrency, typeRuleErrors } from './transaction-rules';
import { CreateTransactionDto, UpdateTransactionDto } from './transactions.dto';
import { CSV_COLUMNS, CsvLine, parseTransactionsCsv, toCsv } from './transactions.csv';

/** A transaction ready to store: checked fields, the asset resolved. */
type AssetLookup = (symbol: string) => Promise<{ id: number; currency: string } | undefined>;

interface TransactionValues {
  type: TransactionType;
  assetId: number | null;
  quantity: string | null;
  price: string | null;
  fee: string;
  currency: string;
  date: string;
  note: string | null;
}

/** A transaction as entered (before the catalog lookup and the default currency). */
type TransactionInput = Omit<TransactionValues, 'assetId' | 'currency'> & { symbol: string | null; currency: string | null };

function fromDto(dto: CreateTransactionDto): TransactionInput {
  return {
    type: dto.type,
    symbol: dto.symbol ?? null,
    quantity: dto.quantity ?? null,
    price: dto.price ?? null,
    fee: dto.fee ?? '0',
    currency: dto.currency ?? null,
    date: dto.date,
    note: dto.note ?? null,
  };
}

const INSERT_COLUMNS = 'portfolio_id, type, asset_id, quantity, price, fee, currency, date, note';

/**
 * The transactions API and the CSV import/export. Callers have checked ownership
 * (PortfolioOwnerGuard); every write goes through PortfolioLedgerService.change (lock, replay,
 * positions, portfolio.changed).
 */
@Injectable()
export class TransactionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly ledger: PortfolioLedgerService,
    private readonly catalog: AssetCatalogService,
  ) {}

  /** A page of the ledger (`total`: every transaction of the portfolio). */
  async list(
    portfolio: Portfolio,
    page: { limit: number; offset: number; order: 'asc' | 'desc' } = { limit: 1000, offset: 0, order: 'asc' },
  ): Promise<TransactionList> {
    await this.ledger.ensureAdopted(portfolio);
    const dir = page.order === 'desc' ? 'DESC' : 'ASC';
    const rows = (await this.db.query(
      `SELECT ${TRANSACTION_COLUMNS}, count(*) OVER () AS total
         FROM transactions t LEFT JOIN assets a ON a.id = t.asset_id
        WHERE t.portfolio_id = $1 ORDER BY t.date ${dir}, t.id ${dir} LIMIT $2 OFFSET $3`,
      [portfolio.id, page.limit, page.offset],
    )) as (TransactionRow & { total: string })[];
    const total = rows.length > 0 ? Number(rows[0].total) : await this.count(portfolio.id);
    return { items: rows.map(toTransactionJson), total, limit: page.limit, offset: page.offset };
  }

  private async count(portfolioId: number): Promise<number> {
    const [{ n }] = (await this.db.query(`SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1`, [portfolioId])) as { n: number }[];
    return n;
  }

  async get(portfolio: Portfolio, txId: number): Promise<TransactionJson> {
    const row = await this.row(this.db.manager, portfolio.id, txId);
    if (!row) throw new NotFoundException(`Transaction ${txId} not found`);
    return toTransactionJson(row);
  }

  async create(portfolio: Portfolio, dto: CreateTransactionDto): Promise<TransactionJson> {
    const values = await this.resolve(portfolio, fromDto(dto), this.catalogLookup());
    if (typeof values === 'string' || Array.isArray(values)) throw new BadRequestException(values);
    const { value: id } = await this.ledger.change(portfolio, async ({ em, created }) => {
      const id = await this.insert(em, portfolio.id, values);
      created(id);
      return id;
    });
    return this.get(portfolio, id);
  }

  async update(portfolio: Portfolio, txId: number, dto: UpdateTransactionDto): Promise<TransactionJson> {
    const fields = ['type', 'symbol', 'quantity', 'price', 'fee', 'currency', 'date', 'note'] as const;
    if (fields.every((f) => dto[f] === undefined)) throw new BadRequestException(`Nothing to update: send any of ${fields.join(', ')}`);
    await this.ledger.change(portfolio, async ({ em }) => {
      const old = await this.row(em, portfolio.id, txId);
      if (!old) throw new NotFoundException(`Transaction ${txId} not found`);
      // undefined: unchanged; null: cleared.
      const keep = (sent: string | null | undefined, current: string | null) => (sent === undefined ? current : sent);
      const values = await this.resolve(
        portfolio,
        {
          type: dto.type ?? old.type,
          symbol: keep(dto.symbol, old.symbol),
          quantity: keep(dto.quantity, old.quantity),
          price: keep(dto.price, old.price),
          fee: keep(dto.fee, old.fee) ?? '0',
          currency: dto.currency ?? old.currency,
          date: dto.date ?? old.date,
          note: keep(dto.note, old.note),
        },
        async (symbol) => ((await em.query(`SELECT id, currency FROM assets WHERE symbol = $1`, [symbol])) as { id: number; currency: string }[])[0],
      );
      if (typeof values === 'string' || Array.isArray(values)) throw new BadRequestException(values);
      await em.query(
        `UPDATE transactions SET type = $3, asset_id = $4, quantity = $5, price = $6, fee = $7, currency = $8, date = $9, note = $10
          WHERE id = $1 AND portfolio_id = $2`,
        [txId, portfolio.id, values.type, values.assetId, values.quantity, values.price, values.fee, values.currency, values.date, values.note],
      );
    });
    return this.get(portfolio, txId);
  }

  async remove(portfolio: Portfolio, txId: number): Promise<void> {
    await this.ledger.change(portfolio, async ({ em }) => {
      const [, count] = (await em.query(`DELETE FROM transactions WHERE id = $1 AND portfolio_id = $2`, [txId, portfolio.id])) as [unknown[], number];
      if (count === 0) throw new NotFoundException(`Transaction ${txId} not found`);
    });
  }

  async exportCsv(portfolio: Portfolio): Promise<string> {
    return toCsv((await this.list(portfolio)).items);
  }

  /**
   * Checks every line (fields, type rules, catalog), then replays the existing transactions with
   * all the new ones (in file order within a day, after the existing ones of that day). Writes all
   * of them in one transaction, or nothing: a dry run, a rejected line or a refused replay writes
   * nothing and answers with the report (a refused real import as the `details` of a 400).
   */
  async importCsv(portfolio: Portfolio, text: string, dryRun: boolean): Promise<TransactionImportReport> {
    const parsed = parseTransactionsCsv(text);
    if (!parsed.ok) throw new BadRequestException(parsed.error);
    const rejected = [...parsed.rejected];
    const accepted: { line: number; values: TransactionValues }[] = [];
    // One catalog query for every symbol of the file.
    const symbols = [...new Set(parsed.lines.map((l) => l.values.symbol.trim().toUpperCase()).filter((x) => x !== ''))];
    const assets = new Map((await this.catalog.findBySymbols(symbols)).map((a) => [a.symbol, { id: a.id, currency: a.currency }]));
    const lookup: AssetLookup = (symbol) => Promise.resolve(assets.get(symbol));
    for (const l of parsed.lines) {
      const v = await this.lineValues(portfolio, l, lookup);
      if (Array.isArray(v)) rejected.push({ line: l.line, errors: v });
      else accepted.push({ line: l.line, values: v });
    }
    rejected.sort((a, b) => a.line - b.line);
    const report: TransactionImportReport = { dry_run: dryRun, accepted: accepted.length, rejected, problem: null, positions: [] };
    if (rejected.length === 0) {
      try {
        const { result } = await this.ledger.change(
          portfolio,
          async ({ em, created }) => {
            const ids = await this.insertMany(
              em,
              portfolio.id,
              accepted.map((a) => a.values),
            );
            ids.forEach((id, i) => created(id, accepted[i].line));
          },
          { dryRun: dryRun || accepted.length === 0 },
        );
        report.positions = result.holdings.map(toHoldingJson);
      } catch (err) {
        if (!(err instanceof LedgerRefusedException)) throw err;
        report.problem = err.problem;
        if (err.problem.line !== undefined) report.rejected.push({ line: err.problem.line, errors: [err.problem.message] });
      }
    }
    if (!dryRun && (report.rejected.length > 0 || report.problem)) {
      const why = report.problem && report.rejected.length === 0 ? report.problem.message : `${report.rejected.length} line(s) rejected`;
      throw new BadRequestException({ message: `Import refused, nothing was written: ${why}`, details: report });
    }
    return report;
  }

  // ------------------------------------------------------------------------

  /** One CSV line as a transaction, or its errors (the same checks as a POST body). */
  private async lineValues(portfolio: Portfolio, l: CsvLine, lookup: AssetLookup): Promise<TransactionValues | string[]> {
    const plain: Record<string, string> = {};
    for (const c of CSV_COLUMNS) if (l.values[c].trim() !== '') plain[c] = c === 'note' ? l.values[c] : l.values[c].trim();
    const dto = plainToInstance(CreateTransactionDto, plain);
    const errors = await validate(dto, {
      whitelist: VALIDATION_OPTIONS.whitelist,
      forbidNonWhitelisted: VALIDATION_OPTIONS.forbidNonWhitelisted,
      forbidUnknownValues: VALIDATION_OPTIONS.forbidUnknownValues,
    });
    if (errors.length > 0) return errors.map((e) => fieldMessage(e.constraints ?? {}));
    const values = await this.resolve(portfolio, fromDto(dto), lookup);
    return typeof values === 'string' ? [values] : values;
  }

  /** Type rules and the catalog: the values to store, or what is wrong (one message, or one per rule). */
  private async resolve(portfolio: Portfolio, t: TransactionInput, lookup: AssetLookup): Promise<TransactionValues | string | string[]> {
    const ruleErrors = typeRuleErrors(t);
    if (ruleErrors.length > 0) return ruleErrors;
    let assetId: number | null = null;
    let assetCurrency: string | null = null;
    if (t.symbol !== null) {
      const asset = await lookup(t.symbol);
      if (!asset) return `Unknown symbol ${t.symbol}: not in the catalog (GET /api/assets)`;
      assetId = asset.id;
      assetCurrency = asset.currency;
    }
    return {
      type: t.type,
      assetId,
      quantity: t.quantity,
      price: t.price,
      fee: t.fee,
      currency: t.currency ?? defaultCurrency(assetCurrency, portfolio.baseCurrency),
      date: t.date,
      note: t.note,
    };
  }

  private async insert(em: EntityManager, portfolioId: number, v: TransactionValues): Promise<number> {
    const [row] = (await em.query(`INSERT INTO transactions (${INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, [
      portfolioId,
      v.type,
      v.assetId,
      v.quantity,
      v.price,
      v.fee,
      v.currency,
      v.date,
      v.note,
    ])) as { id: number }[];
    return row.id;
  }

  /** Inserts in the given order (ids ascending with it); returns the ids in that order. */
  private async insertMany(em: EntityManager, portfolioId: number, vs: TransactionValues[]): Promise<number[]> {
    if (vs.length === 0) return [];
    const col = <K extends keyof TransactionValues>(k: K) => vs.map((v) => v[k]);
    const rows = (await em.query(
      `INSERT INTO transactions (${INSERT_COLUMNS})
       SELECT $1, v.type, v.asset_id, v.quantity, v.price, v.fee, v.currency, v.date, v.note
         FROM unnest($2::text[], $3::int[], $4::numeric[], $5::numeric[], $6::numeric[], $7::text[], $8::date[], $9::text[])
              WITH ORDINALITY AS v(type, asset_id, quantity, price, fee, currency, date, note, ord)
        ORDER BY v.ord
       RETURNING id`,
      [portfolioId, col('type'), col('assetId'), col('quantity'), col('price'), col('fee'), col('currency'), col('date'), col('note')],
    )) as { id: number }[];
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  private catalogLookup(): AssetLookup {
    return async (symbol) => {
      const [asset] = await this.catalog.findBySymbols([symbol]);
      return asset ? { id: asset.id, currency: asset.currency } : undefined;
    };
  }

  private async row(em: EntityManager, portfolioId: number, txId: number): Promise<TransactionRow | undefined> {
    const q = `SELECT ${TRANSACTION_COLUMNS} FROM transactions t LEFT JOIN assets a ON a.id = t.asset_id WHERE t.id = $1 AND t.portfolio_id = $2`;
    const rows = (await em.query(q, [txId, portfolioId])) as TransactionRow[];
    return rows[0];
  }
}
