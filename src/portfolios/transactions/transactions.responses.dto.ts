import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type {
  ImportRejectedLine,
  LedgerHoldingJson,
  LedgerProblemJson,
  TransactionImportReport,
  TransactionJson,
  TransactionList,
  TransactionTypeName,
} from '../../common/api-types';
import { ApiDateTime, ApiDecimal } from '../../common/openapi';
import type { AssertTrue, StrictSame } from '../../common/type-checks';
import { TRANSACTION_TYPES } from '../ledger/ledger.types';

/** OpenAPI schema of TransactionJson (src/common/api-types.ts). */
@ApiSchema({ name: 'Transaction', description: 'One entry of a portfolio’s ledger; positions are derived from these.' })
export class TransactionDto implements TransactionJson {
  @ApiProperty({ type: 'integer', example: 41 })
  id: number;

  @ApiProperty({ type: 'integer', example: 2 })
  portfolio_id: number;

  @ApiProperty({ enum: TRANSACTION_TYPES, example: 'BUY' })
  type: TransactionTypeName;

  @ApiProperty({ type: 'string', nullable: true, example: 'AAPL', description: 'Null for DEPOSIT / WITHDRAWAL and a FEE not tied to a holding.' })
  symbol: string | null;

  @ApiDecimal('10', { nullable: true, description: 'Shares, or the split ratio (SPLIT).' })
  quantity: string | null;

  @ApiDecimal('150.25', { nullable: true, description: 'Per share (BUY, SELL, DIVIDEND), or the amount (FEE, DEPOSIT, WITHDRAWAL).' })
  price: string | null;

  @ApiDecimal('1')
  fee: string;

  @ApiProperty({ example: 'USD' })
  currency: string;

  @ApiProperty({ type: 'string', format: 'date', example: '2026-01-05' })
  date: string;

  @ApiProperty({ type: 'string', nullable: true, example: 'Monthly savings plan' })
  note: string | null;

  @ApiDateTime()
  created_at: string;
}

@ApiSchema({ name: 'TransactionList', description: 'A portfolio’s transactions in replay order (date, then id).' })
export class TransactionListDto implements TransactionList {
  @ApiProperty({ type: () => TransactionDto, isArray: true })
  items: TransactionDto[];

  @ApiProperty({ type: 'integer', example: 3, description: 'Every transaction of the portfolio (not only this page)' })
  total: number;

  @ApiProperty({ type: 'integer', example: 1000 })
  limit: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset: number;
}

@ApiSchema({ name: 'LedgerHolding', description: 'A holding as the replay of the ledger computes it.' })
export class LedgerHoldingDto implements LedgerHoldingJson {
  @ApiProperty({ example: 'AAPL' })
  symbol: string;

  @ApiDecimal('20')
  quantity: string;

  @ApiDecimal('105.05', { description: 'cost_basis ÷ quantity.' })
  average_cost: string;

  @ApiDecimal('2101', { description: 'What the shares held cost, fees included.' })
  cost_basis: string;
}

@ApiSchema({ name: 'LedgerProblem', description: 'Why the replay of the ledger refused it (nothing was written).' })
export class LedgerProblemDto implements LedgerProblemJson {
  @ApiProperty({ enum: ['SELL_EXCEEDS_HOLDING', 'WITHDRAWAL_EXCEEDS_CASH', 'NOTHING_TO_SPLIT', 'INVALID'], example: 'SELL_EXCEEDS_HOLDING' })
  code: LedgerProblemJson['code'];

  @ApiProperty({ example: 'SELL_EXCEEDS_HOLDING: cannot sell 15 AAPL on 2026-01-07, 10 held that day (line 4)' })
  message: string;

  @ApiPropertyOptional({ type: 'integer', example: 41, description: 'The stored transaction it is about.' })
  transaction_id?: number;

  @ApiPropertyOptional({ type: 'integer', example: 4, description: 'The CSV line it is about (import).' })
  line?: number;
}

@ApiSchema({ name: 'ImportRejectedLine' })
export class ImportRejectedLineDto implements ImportRejectedLine {
  @ApiProperty({ type: 'integer', example: 3, description: 'Line number in the file (the header is line 1).' })
  line: number;

  @ApiProperty({ type: 'string', isArray: true, example: ['price is required for a BUY (price per share)'] })
  errors: string[];
}

@ApiSchema({
  name: 'TransactionImportReport',
  description: 'What an import did (or, with dry_run=true, would do). When it is refused, the same report is the `details` of the 400.',
})
export class TransactionImportReportDto implements TransactionImportReport {
  @ApiProperty({ example: false })
  dry_run: boolean;

  @ApiProperty({ type: 'integer', example: 12, description: 'Lines that passed their own checks.' })
  accepted: number;

  @ApiProperty({ type: () => ImportRejectedLineDto, isArray: true })
  rejected: ImportRejectedLineDto[];

  @ApiProperty({ type: () => LedgerProblemDto, nullable: true, description: 'What the replay of the existing and imported transactions refused.' })
  problem: LedgerProblemDto | null;

  @ApiProperty({ type: () => LedgerHoldingDto, isArray: true, description: 'Holdings after the import (empty when refused).' })
  positions: LedgerHoldingDto[];
}

export type _TransactionDtosFit = [
  AssertTrue<StrictSame<TransactionJson, TransactionDto>>,
  AssertTrue<StrictSame<TransactionList, TransactionListDto>>,
  AssertTrue<StrictSame<LedgerHoldingJson, LedgerHoldingDto>>,
  AssertTrue<StrictSame<LedgerProblemJson, LedgerProblemDto>>,
  AssertTrue<StrictSame<ImportRejectedLine, ImportRejectedLineDto>>,
  AssertTrue<StrictSame<TransactionImportReport, TransactionImportReportDto>>,
];
