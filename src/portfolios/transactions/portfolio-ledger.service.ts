import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Decimal from 'decimal.js';
import { DataSource, EntityManager } from 'typeorm';
import { MessageBus } from '../../bus/message-bus';
import type { LedgerHoldingJson, LedgerProblemJson, TransactionJson } from '../../common/api-types';
import { D } from '../../common/decimal';
import { pgErrorCode } from '../../database/db-errors';
import { trimZeros } from '../../database/decimal.transformer';
import { DailyValuesService } from '../daily-values/daily-values.service';
import { Portfolio } from '../entities/portfolio.entity';
import { replayLedger } from '../ledger/ledger';
import type { LedgerHolding, LedgerProblem, LedgerResult } from '../ledger/ledger.types';
import { TRANSACTION_COLUMNS, toLedgerTransaction, type TransactionRow } from './transaction-rows';

export { TRANSACTION_COLUMNS, toLedgerTransaction, type TransactionRow } from './transaction-rows';

/** The note of the opening BUY given to a position that has no transaction (one written by the seed, or by SQL). */
export const ADOPTED_NOTE = 'Opening position';

export function toTransactionJson(r: TransactionRow): TransactionJson {
  return {
    id: r.id,
    portfolio_id: r.portfolio_id,
    type: r.type,
    symbol: r.symbol,
    quantity: r.quantity == null ? null : trimZeros(r.quantity),
    price: r.price == null ? null : trimZeros(r.price),
    fee: trimZeros(r.fee),
    currency: r.currency,
    date: r.date,
    note: r.note,
    created_at: r.created_at.toISOString(),
  };
}

export function toHoldingJson(h: LedgerHolding): LedgerHoldingJson {
  return { symbol: h.symbol, quantity: h.quantity, average_cost: h.averageCost, cost_basis: h.cost };
}

/** How a problem names the transaction it is about: a stored one, the one being written, or a CSV line. */
export interface ProblemSubject {
  transaction_id?: number;
  line?: number;
  /** "transaction 41", "this transaction", "line 4". */
  label: string;
}

/** The JSON of a replay problem: its code, and one sentence naming the transaction. */
export function describeProblem(problem: LedgerProblem, tx: Pick<TransactionRow, 'type' | 'date'> | undefined, subject: ProblemSubject): LedgerProblemJson {
  const on = tx ? ` on ${tx.date}` : '';
  let text: string;
  switch (problem.code) {
    case 'SELL_EXCEEDS_HOLDING':
      text = `cannot sell ${problem.sold} ${problem.symbol}${on}: ${problem.held} held that day`;
      break;
    case 'WITHDRAWAL_EXCEEDS_CASH':
      text = `cannot withdraw ${problem.amount}${on} (fee included): ${problem.cash} cash held that day`;
      break;
    case 'NOTHING_TO_SPLIT':
      text = `cannot split ${problem.symbol}${on}: none held that day`;
      break;
    default:
      text = `${tx ? `${tx.type}${on}: ` : ''}${problem.message} (field ${problem.field})`;
  }
  const json: LedgerProblemJson = { code: problem.code, message: `${problem.code}: ${text} (${subject.label})` };
  if (subject.transaction_id !== undefined) json.transaction_id = subject.transaction_id;
  if (subject.line !== undefined) json.line = subject.line;
  return json;
}

/** 400 for a change the replay refuses: the sentence as `message`, the problem as `details`. */
export class LedgerRefusedException extends BadRequestException {
  constructor(readonly problem: LedgerProblemJson) {
    super({ message: problem.message, details: problem });
  }
}

/** What a change did inside its database transaction. */
export interface LedgerChangeContext {
  em: EntityManager;
  /** Record the id of a transaction this change inserted (so a problem with it is not named by an id that will not exist). */
  created(id: number, line?: number): void;
}

export interface LedgerChangeOptions {
  /** Replay and report, then roll everything back (no positions written, nothing published). */
  dryRun?: boolean;
}

export interface LedgerChangeResult<T> {
  value: T;
  result: LedgerResult;
}

/** Rolls a dry run back with its outcome. */
class DryRunDone<T> {
  constructor(readonly outcome: LedgerChangeResult<T>) {}
}

const SCALE = 8;

/** A holding's figure as the positions table stores it: 8 decimals, half up (as PostgreSQL would round it). */
function stored(v: string): string {
  return new D(v).toDecimalPlaces(SCALE, Decimal.ROUND_HALF_UP).toFixed();
}

/**
 * The one writer of a portfolio's ledger, and of its positions. Every change (the transactions
 * API, the CSV import and the legacy position endpoints) runs through change():
 *
 *   one database transaction: lock the portfolio row (SELECT … FOR UPDATE: changes of one
 *   portfolio are serialised, on every instance) → adopt positions that have no transaction →
 *   the caller's writes → replay every transaction (replayLedger) → refused: 400, nothing
 *   written → rewrite the portfolio's positions to the holdings (update in place, insert,
 *   delete what is no longer held) → COMMIT → publish `portfolio.changed` (the live valuation
 *   and the sockets of every instance follow, as for the position endpoints).
 */
@Injectable()
export class PortfolioLedgerService {
  private readonly logger = new Logger('PortfolioLedger');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: MessageBus,
    private readonly dailyValues: DailyValuesService,
  ) {}

  async change<T>(portfolio: Portfolio, fn: (ctx: LedgerChangeContext) => Promise<T>, opts: LedgerChangeOptions = {}): Promise<LedgerChangeResult<T>> {
    let outcome: LedgerChangeResult<T>;
    let affected: string | null = null;
    try {
      outcome = await this.db.transaction(async (em) => {
        await this.lock(em, portfolio);
        await this.adopt(em, portfolio.id);
        const before = opts.dryRun ? [] : await this.rows(em, portfolio.id);
        const created = new Map<number, number | undefined>();
        const value = await fn({ em, created: (id, line) => created.set(id, line) });
        const rows = await this.rows(em, portfolio.id);
        const replay = replayLedger(rows.map((r) => toLedgerTransaction(r, r.id)));
        if (!replay.ok) {
          const tx = rows.find((r) => r.id === replay.problem.seq);
          const line = created.get(replay.problem.seq);
          const subject: ProblemSubject = created.has(replay.problem.seq)
            ? line !== undefined
              ? { line, label: `line ${line}` }
              : { label: 'this transaction' }
            : { transaction_id: replay.problem.seq, label: `transaction ${replay.problem.seq}` };
          throw new LedgerRefusedException(describeProblem(replay.problem, tx, subject));
        }
        const done = { value, result: replay.result };
        if (opts.dryRun) throw new DryRunDone(done);
        await this.writePositions(em, portfolio.id, rows, replay.result.holdings);
        // The stored value history is wrong from the earliest day this change touches: forget it from there (backfilled after commit).
        affected = earliestChange(before, rows);
        if (affected !== null) await this.dailyValues.forget(em, portfolio.id, affected);
        await em.query(`UPDATE portfolios SET updated_at = now() WHERE id = $1`, [portfolio.id]);
        return done;
      });
    } catch (err) {
      if (err instanceof DryRunDone) return err.outcome as LedgerChangeResult<T>;
      if (pgErrorCode(err) === '22003') {
        throw new BadRequestException('A resulting quantity, price or average cost is out of range (more than the columns hold): nothing was written');
      }
      throw err;
    }
    await this.changed(portfolio);
    if (affected !== null) this.dailyValues.backfill(portfolio, affected);
    return outcome;
  }

  /** The portfolio's transactions in replay order (date, then id). */
  async list(portfolio: Portfolio): Promise<TransactionRow[]> {
    await this.ensureAdopted(portfolio);
    return this.rows(this.db.manager, portfolio.id);
  }

  async rows(em: EntityManager, portfolioId: number): Promise<TransactionRow[]> {
    return (await em.query(
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t LEFT JOIN assets a ON a.id = t.asset_id WHERE t.portfolio_id = $1 ORDER BY t.date, t.id`,
      [portfolioId],
    )) as TransactionRow[];
  }

  /**
   * Positions written without a transaction (the seed's demo portfolio, rows inserted by SQL) get
   * their opening BUY, like the migration gave every position: the ledger explains every position.
   * Reads call this so the list shows them; it only writes when there is something to adopt.
   */
  async ensureAdopted(portfolio: Portfolio): Promise<void> {
    const [{ n }] = (await this.db.query(
      `SELECT count(*)::int AS n FROM positions pos
        WHERE pos.portfolio_id = $1 AND pos.quantity > 0
          AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.portfolio_id = pos.portfolio_id AND t.asset_id = pos.asset_id)`,
      [portfolio.id],
    )) as { n: number }[];
    if (n === 0) return;
    await this.db.transaction(async (em) => {
      await this.lock(em, portfolio);
      await this.adopt(em, portfolio.id);
    });
  }

  private async lock(em: EntityManager, portfolio: Portfolio): Promise<void> {
    const rows = (await em.query(`SELECT id FROM portfolios WHERE id = $1 AND owner_id = $2 FOR UPDATE`, [portfolio.id, portfolio.ownerId])) as unknown[];
    if (rows.length === 0) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
  }

  private async adopt(em: EntityManager, portfolioId: number): Promise<void> {
    await em.query(
      `INSERT INTO transactions (portfolio_id, type, asset_id, quantity, price, fee, currency, date, note)
       SELECT pos.portfolio_id, 'BUY', pos.asset_id, pos.quantity, pos.average_cost, 0,
              CASE WHEN a.currency ~ '^[A-Z]{3}$' THEN a.currency ELSE p.base_currency END,
              (pos.created_at AT TIME ZONE 'UTC')::date, $2
         FROM positions pos
         JOIN assets a ON a.id = pos.asset_id
         JOIN portfolios p ON p.id = pos.portfolio_id
        WHERE pos.portfolio_id = $1 AND pos.quantity > 0
          AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.portfolio_id = pos.portfolio_id AND t.asset_id = pos.asset_id)
        ORDER BY pos.id`,
      [portfolioId, ADOPTED_NOTE],
    );
  }

  /** Makes the portfolio's positions the holdings: rows of symbols still held keep their id (updated only when they differ). */
  private async writePositions(em: EntityManager, portfolioId: number, rows: TransactionRow[], holdings: LedgerHolding[]): Promise<void> {
    const assetOf = new Map<string, number>();
    for (const r of rows) if (r.symbol !== null && r.asset_id !== null) assetOf.set(r.symbol, r.asset_id);
    const wanted = new Map<number, { quantity: string; averageCost: string }>();
    for (const h of holdings) {
      const assetId = assetOf.get(h.symbol);
      const quantity = stored(h.quantity);
      if (assetId === undefined || new D(quantity).isZero()) continue; // dust below the column's 8 decimals
      wanted.set(assetId, { quantity, averageCost: stored(h.averageCost) });
    }
    const existing = (await em.query(`SELECT id, asset_id, quantity, average_cost FROM positions WHERE portfolio_id = $1`, [portfolioId])) as {
      id: number;
      asset_id: number;
      quantity: string;
      average_cost: string;
    }[];
    const gone = existing.filter((p) => !wanted.has(p.asset_id)).map((p) => p.id);
    if (gone.length > 0) await em.query(`DELETE FROM positions WHERE id = ANY($1::int[])`, [gone]);
    for (const p of existing) {
      const w = wanted.get(p.asset_id);
      if (!w) continue;
      wanted.delete(p.asset_id);
      if (new D(p.quantity).eq(w.quantity) && new D(p.average_cost).eq(w.averageCost)) continue;
      await em.query(`UPDATE positions SET quantity = $2, average_cost = $3, updated_at = now() WHERE id = $1`, [p.id, w.quantity, w.averageCost]);
    }
    for (const [assetId, w] of wanted) {
      await em.query(`INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) VALUES ($1, $2, $3, $4)`, [
        portfolioId,
        assetId,
        w.quantity,
        w.averageCost,
      ]);
    }
  }

  /** Tells the valuation engine and the realtime hub (on every instance) after commit. Never fails the request. */
  private async changed(portfolio: Portfolio): Promise<void> {
    try {
      await this.bus.publish('portfolio.changed', { portfolio_id: portfolio.id, owner_id: portfolio.ownerId });
    } catch (err) {
      this.logger.warn(`Could not publish portfolio.changed for ${portfolio.id}: ${(err as Error).message}`);
    }
  }
}

/** The earliest date of a transaction added, removed or changed between the two lists (null: none). */
export function earliestChange(before: readonly TransactionRow[], after: readonly TransactionRow[]): string | null {
  const key = (r: TransactionRow) => [r.type, r.asset_id, r.quantity, r.price, r.fee, r.currency, r.date].join('|');
  const was = new Map(before.map((r) => [r.id, r]));
  let earliest: string | null = null;
  const touch = (date: string) => {
    if (earliest === null || date < earliest) earliest = date;
  };
  for (const r of after) {
    const old = was.get(r.id);
    was.delete(r.id);
    if (!old) touch(r.date);
    else if (key(old) !== key(r)) {
      touch(old.date);
      touch(r.date);
    }
  }
  for (const old of was.values()) touch(old.date);
  return earliest;
}
