/**
 * The CSV form of a portfolio's transactions (export and import), RFC 4180: comma-separated,
 * CRLF line ends, a field is quoted ("…", inner quotes doubled) when it holds a comma, a quote,
 * a line break or leading/trailing spaces. Parsing is csv-parse's.
 */
import { parse } from 'csv-parse/sync';
import type { TransactionJson } from '../../common/api-types';

export const CSV_COLUMNS = ['date', 'type', 'symbol', 'quantity', 'price', 'fee', 'currency', 'note'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
/** Columns an import may leave out of its header. */
const OPTIONAL_COLUMNS: ReadonlySet<CsvColumn> = new Set(['note']);

/** Import bounds: body size (enforced by the body parser) and data lines. */
export const MAX_IMPORT_BYTES = 1024 * 1024;
export const MAX_IMPORT_LINES = 10_000;

export function csvField(v: string | null): string {
  if (v == null) return '';
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(items: readonly TransactionJson[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const t of items) lines.push([t.date, t.type, t.symbol, t.quantity, t.price, t.fee, t.currency, t.note].map(csvField).join(','));
  return lines.map((l) => `${l}\r\n`).join('');
}

/** One data line: its number in the file (the header is line 1) and its values by column ('' when empty). */
export interface CsvLine {
  line: number;
  values: Record<CsvColumn, string>;
}

export type CsvParse = { ok: true; lines: CsvLine[]; rejected: { line: number; errors: string[] }[] } | { ok: false; error: string };

/**
 * Reads an import: a header naming the columns (any order, any case; `note` optional; no other
 * column), then one transaction per line. Blank lines are skipped. A line with the wrong number
 * of fields is rejected on its own; a file that is not CSV at all (an unclosed quote) fails whole.
 */
export function parseTransactionsCsv(text: string): CsvParse {
  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    parsed = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as typeof parsed;
  } catch (err) {
    return { ok: false, error: `The body is not valid CSV: ${(err as Error).message}` };
  }
  const records = withLineNumbers(text, parsed);
  const nonBlank = records.filter((r) => r.record.some((f) => f.trim() !== ''));
  if (nonBlank.length === 0) return { ok: false, error: `The CSV has no header: the first line must name the columns ${CSV_COLUMNS.join(',')}` };
  const [head, ...data] = nonBlank;
  const names = head.record.map((h) => h.trim().toLowerCase());
  const problems: string[] = [];
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length > 0) problems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length > 0) problems.push(`column ${[...new Set(dupes)].join(', ')} named more than once`);
  const missing = CSV_COLUMNS.filter((c) => !OPTIONAL_COLUMNS.has(c) && !names.includes(c));
  if (missing.length > 0) problems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (problems.length > 0) return { ok: false, error: `Bad CSV header (${problems.join('; ')}): expected ${CSV_COLUMNS.join(',')} (any case, note optional)` };
  if (data.length > MAX_IMPORT_LINES) return { ok: false, error: `Too many lines: at most ${MAX_IMPORT_LINES} transactions per import (got ${data.length})` };

  const lines: CsvLine[] = [];
  const rejected: { line: number; errors: string[] }[] = [];
  for (const r of data) {
    const line = r.line;
    if (r.record.length !== names.length) {
      rejected.push({ line, errors: [`expected ${names.length} fields (${names.join(',')}), got ${r.record.length}`] });
      continue;
    }
    const values = Object.fromEntries(CSV_COLUMNS.map((c) => [c, ''])) as Record<CsvColumn, string>;
    names.forEach((n, i) => (values[n as CsvColumn] = r.record[i]));
    lines.push({ line, values });
  }
  return { ok: true, lines, rejected };
}

const BREAK = /\r\n|\r|\n/g;
const countBreaks = (s: string): number => s.match(BREAK)?.length ?? 0;

/**
 * The line each record starts on (1-based; a quoted field may span lines; CRLF, LF and CR each
 * end one line). From the byte offset where csv-parse says each record ends (its own line count
 * takes a quoted CRLF for two lines).
 */
function withLineNumbers(text: string, parsed: { record: string[]; info: { bytes: number } }[]): { record: string[]; line: number }[] {
  const buf = Buffer.from(text, 'utf8');
  let pos = 0;
  let breaks = 0;
  return parsed.map(({ record, info }) => {
    const chunk = buf.subarray(pos, info.bytes).toString('utf8');
    const own = chunk.replace(/(\r\n|\r|\n)$/, '');
    const endLine = 1 + breaks + countBreaks(own);
    breaks += countBreaks(chunk);
    pos = info.bytes;
    return { record, line: endLine - record.reduce((n, f) => n + countBreaks(f), 0) };
  });
}
