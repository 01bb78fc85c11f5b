/**
 * The dashboard's calls to a portfolio's ledger (src/portfolios/transactions/transactions.controller.ts):
 * the transactions, the CSV import (dry run first) and the CSV export, through the shared `api`
 * helpers (the import sends the file as `text/csv`: api.postText).
 */
import type { TransactionImportReport, TransactionJson, TransactionList, TransactionTypeName } from '../../../client';
import { api, ApiError } from '../shared/api';

export type { TransactionImportReport, TransactionJson, TransactionTypeName };

export const TRANSACTION_TYPES: readonly TransactionTypeName[] = ['BUY', 'SELL', 'DIVIDEND', 'FEE', 'SPLIT', 'DEPOSIT', 'WITHDRAWAL'];

/** A transaction as the form sends it (decimals as strings; null: empty). */
export interface TransactionBody {
  type: TransactionTypeName;
  date: string;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  /** null: 0. */
  fee: string | null;
  /** Left out: the asset's currency (new), unchanged (edit). */
  currency?: string;
  note: string | null;
}

/** The server's import body limit (MAX_IMPORT_BYTES). */
export const MAX_IMPORT_BYTES = 1024 * 1024;

const base = (portfolioId: number) => `/api/portfolios/${portfolioId}/transactions`;

/** The newest TABLE_ROWS transactions, newest first (the table shows these). */
export const TABLE_ROWS = 500;
export async function listTransactions(portfolioId: number): Promise<TransactionJson[]> {
  return (await api.get<TransactionList>(`${base(portfolioId)}?order=desc&limit=${TABLE_ROWS}`)).items;
}

export function createTransaction(portfolioId: number, body: TransactionBody): Promise<TransactionJson> {
  return api.post<TransactionJson>(base(portfolioId), body);
}

export function updateTransaction(portfolioId: number, txId: number, body: TransactionBody): Promise<TransactionJson> {
  return api.patch<TransactionJson>(`${base(portfolioId)}/${txId}`, body);
}

/** 204, no body. */
export async function deleteTransaction(portfolioId: number, txId: number): Promise<void> {
  await api.del<undefined>(`${base(portfolioId)}/${txId}`);
}

/** GET …/transactions.csv: header date,type,symbol,quantity,price,fee,currency,note. */
export function exportCsvUrl(portfolioId: number): string {
  return `/api/portfolios/${portfolioId}/transactions.csv`;
}

/**
 * POST …/transactions/import: `dryRun` only reports; otherwise every line is written or none
 * (a refusal is a 400 whose `details` is the report: see importReportOf).
 */
export function importCsv(portfolioId: number, csv: string, dryRun: boolean): Promise<TransactionImportReport> {
  return api.postText<TransactionImportReport>(`${base(portfolioId)}/import?dry_run=${dryRun}`, csv, 'text/csv');
}

/** The report a refused (non-dry-run) import carries as its 400's `details`, if that is what it is. */
export function importReportOf(err: unknown): TransactionImportReport | null {
  if (!(err instanceof ApiError) || !err.details || typeof err.details !== 'object' || Array.isArray(err.details)) return null;
  const d = err.details as Partial<TransactionImportReport>;
  return Array.isArray(d.rejected) && typeof d.accepted === 'number' ? (d as TransactionImportReport) : null;
}

/** The ledger's refusal code of a 400 (`details.code`: SELL_EXCEEDS_HOLDING, …), if any. */
export function ledgerCodeOf(err: unknown): string | null {
  if (!(err instanceof ApiError) || !err.details || typeof err.details !== 'object' || Array.isArray(err.details)) return null;
  const code = (err.details as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

/**
 * What to show for a failed call: the server's message; for a validation error its field
 * messages once (ApiError's message repeats `details` after the message, which already holds them).
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (Array.isArray(err.details) && err.details.length > 0) return err.details.map(String).join('; ');
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
