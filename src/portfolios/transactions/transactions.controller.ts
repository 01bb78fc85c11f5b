import { BadRequestException, Body, Controller, Delete, Get, Header, HttpCode, NotFoundException, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCookieAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthenticatedGuard } from '../../auth/guards/authenticated.guard';
import type { TransactionImportReport, TransactionJson, TransactionList } from '../../common/api-types';
import { ApiErrors, SESSION_SECURITY } from '../../common/openapi';
import { Portfolio } from '../entities/portfolio.entity';
import { OwnedPortfolio, PortfolioOwnerGuard } from '../guards/portfolio-owner.guard';
import { CSV_COLUMNS, MAX_IMPORT_LINES } from './transactions.csv';
import { CreateTransactionDto, ImportTransactionsQuery, ListTransactionsQuery, UpdateTransactionDto } from './transactions.dto';
import { TransactionDto, TransactionImportReportDto, TransactionListDto } from './transactions.responses.dto';
import { TransactionsService } from './transactions.service';

/** Transaction ids in the path: anything but a plausible id is simply "not found". */
function transactionId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647 || Number(raw) === 0) throw new NotFoundException(`Transaction ${raw.slice(0, 20)} not found`);
  return Number(raw);
}

const PortfolioIdParam = () =>
  ApiParam({ name: 'id', type: 'integer', example: 2, description: 'Portfolio id (someone else’s portfolio answers 404, like a missing one)' });
const TransactionIdParam = () => ApiParam({ name: 'txId', type: 'integer', example: 41 });
const REFUSED =
  'Invalid body (field messages in `details`), unknown symbol, or a change the ledger refuses (`details.code`: SELL_EXCEEDS_HOLDING, WITHDRAWAL_EXCEEDS_CASH, NOTHING_TO_SPLIT, INVALID); nothing was written';
const CSV_EXAMPLE = `${CSV_COLUMNS.join(',')}\r\n2026-01-05,BUY,AAPL,10,150.25,1,USD,First lot\r\n2026-02-01,DIVIDEND,AAPL,10,0.25,0,USD,\r\n`;

/**
 * A portfolio's ledger: the transactions its positions are derived from (docs/api.md, "Transactions").
 * Owner only (PortfolioOwnerGuard); every change replays the ledger and rewrites the positions.
 */
@ApiTags('transactions')
@ApiCookieAuth(SESSION_SECURITY)
@ApiErrors(401)
@Controller('api/portfolios')
@UseGuards(AuthenticatedGuard, PortfolioOwnerGuard)
export class TransactionsController {
  constructor(private readonly transactions: TransactionsService) {}

  @Get(':id/transactions')
  @ApiOperation({ summary: 'The transactions of a portfolio, a page at a time, in replay order (date, then id) or newest first' })
  @PortfolioIdParam()
  @ApiOkResponse({ type: TransactionListDto })
  @ApiErrors(400, 404)
  list(@OwnedPortfolio() p: Portfolio, @Query() q: ListTransactionsQuery): Promise<TransactionList> {
    return this.transactions.list(p, q);
  }

  @Get(':id/transactions.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @ApiOperation({ summary: 'Export the transactions as CSV', description: `Header \`${CSV_COLUMNS.join(',')}\`, RFC 4180 quoting, CRLF line ends.` })
  @PortfolioIdParam()
  @ApiOkResponse({ description: 'The CSV file', content: { 'text/csv': { schema: { type: 'string', example: CSV_EXAMPLE } } } })
  @ApiErrors(404)
  async exportCsv(@OwnedPortfolio() p: Portfolio): Promise<string> {
    return this.transactions.exportCsv(p);
  }

  @Post(':id/transactions')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Record a transaction',
    description: 'The positions are replayed from the whole ledger and rewritten; `portfolio.changed` follows.',
  })
  @PortfolioIdParam()
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiErrors([400, REFUSED], 404)
  create(@OwnedPortfolio() p: Portfolio, @Body() dto: CreateTransactionDto): Promise<TransactionJson> {
    return this.transactions.create(p, dto);
  }

  @Post(':id/transactions/import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import transactions from CSV (all or nothing)',
    description:
      `Body: \`text/csv\`, at most 1 MB and ${MAX_IMPORT_LINES} lines, header \`${CSV_COLUMNS.join(',')}\` (any order and case, \`note\` optional). ` +
      'Every line is checked like a POST body, then all of them are replayed with the existing transactions. ' +
      '`dry_run=true` only reports; otherwise every line is written in one transaction, or (a line rejected, or the replay refused) nothing, with the report as the `details` of a 400.',
  })
  @PortfolioIdParam()
  @ApiConsumes('text/csv')
  @ApiBody({ schema: { type: 'string', example: CSV_EXAMPLE } })
  @ApiOkResponse({ type: TransactionImportReportDto })
  @ApiErrors([400, 'Not CSV, a bad header, or (not a dry run) a rejected line or a refused replay: `details` is the report; nothing was written'], 404, [
    413,
    `CSV body over 1 MB`,
  ])
  importCsv(@OwnedPortfolio() p: Portfolio, @Query() query: ImportTransactionsQuery, @Body() body: unknown): Promise<TransactionImportReport> {
    if (typeof body !== 'string') throw new BadRequestException('Send the CSV as the request body, with Content-Type: text/csv');
    return this.transactions.importCsv(p, body, query.dry_run === 'true');
  }

  @Get(':id/transactions/:txId')
  @ApiOperation({ summary: 'One transaction' })
  @PortfolioIdParam()
  @TransactionIdParam()
  @ApiOkResponse({ type: TransactionDto })
  @ApiErrors(404)
  get(@OwnedPortfolio() p: Portfolio, @Param('txId') id: string): Promise<TransactionJson> {
    return this.transactions.get(p, transactionId(id));
  }

  @Patch(':id/transactions/:txId')
  @ApiOperation({
    summary: 'Change a transaction',
    description: 'Any of the fields; null clears symbol, quantity, price or note. The result must fit its type and the ledger.',
  })
  @PortfolioIdParam()
  @TransactionIdParam()
  @ApiOkResponse({ type: TransactionDto })
  @ApiErrors([400, REFUSED], 404)
  update(@OwnedPortfolio() p: Portfolio, @Param('txId') id: string, @Body() dto: UpdateTransactionDto): Promise<TransactionJson> {
    return this.transactions.update(p, transactionId(id), dto);
  }

  @Delete(':id/transactions/:txId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a transaction',
    description: 'Refused (400) when the ledger without it is inconsistent, e.g. a later SELL would exceed the holding.',
  })
  @PortfolioIdParam()
  @TransactionIdParam()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors([400, REFUSED], 404)
  remove(@OwnedPortfolio() p: Portfolio, @Param('txId') id: string): Promise<void> {
    return this.transactions.remove(p, transactionId(id));
  }
}
