import { $, h, notify } from '../shared/dom';
import { errorText, importCsv, importReportOf, MAX_IMPORT_BYTES, type TransactionImportReport } from './ledger-api';

type State = 'idle' | 'checking' | 'ready' | 'rejected' | 'error' | 'importing' | 'imported';

/**
 * CSV import of transactions: picking a file runs the server's dry run at once and shows how
 * many lines it accepts and each rejected line with its reasons; "Import" is enabled only when
 * the dry run rejected nothing, and then sends the very text that was checked (all or nothing
 * on the server too). After an import `changed()` refreshes the portfolio.
 */
export class CsvImport {
  private readonly file = $<HTMLInputElement>('#csv-file');
  private readonly button = $<HTMLButtonElement>('#csv-commit');
  private readonly report = $('#csv-report');
  private portfolioId: number | null = null;
  /** The checked file: name and text (what "Import" sends). */
  private checked: { name: string; text: string; accepted: number } | null = null;
  private seq = 0;

  constructor(private readonly changed: () => Promise<void>) {
    this.file.addEventListener('change', () => void this.check());
    this.button.addEventListener('click', () => void this.commit());
    this.setState('idle');
  }

  /** The portfolio shown: another one forgets the checked file. */
  setPortfolio(id: number | null): void {
    if (id === this.portfolioId) return;
    this.portfolioId = id;
    this.reset();
  }

  private reset(): void {
    this.seq++;
    this.checked = null;
    this.file.value = '';
    this.report.replaceChildren();
    this.setState('idle');
  }

  private setState(state: State): void {
    this.report.dataset.state = state;
    this.report.hidden = state === 'idle';
    this.button.disabled = state !== 'ready';
    this.file.disabled = state === 'importing';
  }

  /** The dry run of the chosen file. */
  private async check(): Promise<void> {
    const id = this.portfolioId;
    const f = this.file.files?.[0];
    const mine = ++this.seq;
    this.checked = null;
    if (id === null || !f) {
      this.report.replaceChildren();
      this.setState('idle');
      return;
    }
    if (f.size > MAX_IMPORT_BYTES) return this.showError(`${f.name} is larger than 1 MB: split it into smaller files`);
    this.setState('checking');
    this.report.replaceChildren(h('p', { class: 'muted' }, `Checking ${f.name}…`));
    try {
      const text = await f.text();
      const report = await importCsv(id, text, true);
      if (mine !== this.seq) return;
      this.showReport(f.name, report);
      if (report.rejected.length === 0 && !report.problem && report.accepted > 0) {
        this.checked = { name: f.name, text, accepted: report.accepted };
        this.setState('ready');
      } else {
        this.setState(report.accepted === 0 && report.rejected.length === 0 && !report.problem ? 'error' : 'rejected');
      }
    } catch (err) {
      if (mine === this.seq) this.showError(`${f.name}: ${errorText(err)}`);
    }
  }

  private async commit(): Promise<void> {
    const id = this.portfolioId;
    const checked = this.checked;
    if (id === null || !checked) return;
    const mine = ++this.seq;
    this.setState('importing');
    try {
      const report = await importCsv(id, checked.text, false);
      if (mine !== this.seq) return;
      this.checked = null;
      this.file.value = '';
      const n = report.accepted;
      this.report.replaceChildren(
        h(
          'p',
          { class: 'csv-summary ok', 'data-testid': 'csv-summary', 'data-accepted': String(n) },
          `Imported ${n} transaction${n === 1 ? '' : 's'} from ${checked.name}.`,
        ),
      );
      this.setState('imported');
      notify(`Imported ${n} transaction${n === 1 ? '' : 's'}`);
      await this.changed();
    } catch (err) {
      if (mine !== this.seq) return;
      // Refused after all (the ledger changed since the dry run): the report says why; nothing was written.
      const report = importReportOf(err);
      this.checked = null;
      if (report) {
        this.showReport(checked.name, report);
        this.setState('rejected');
      } else this.showError(`${checked.name}: ${errorText(err)}`);
    }
  }

  private showError(message: string): void {
    this.report.replaceChildren(h('p', { class: 'form-error', 'data-testid': 'csv-error' }, message));
    this.setState('error');
  }

  private showReport(name: string, r: TransactionImportReport): void {
    const bad = r.rejected.length;
    const summary = h(
      'p',
      {
        class: `csv-summary ${bad || r.problem ? 'bad' : 'ok'}`,
        'data-testid': 'csv-summary',
        'data-accepted': String(r.accepted),
        'data-rejected': String(bad),
      },
      h('strong', {}, name),
      `: ${r.accepted} line${r.accepted === 1 ? '' : 's'} accepted`,
      bad ? `, ${bad} rejected` : '',
      bad || r.problem
        ? ' — nothing can be imported until every line is right: fix the file and choose it again.'
        : r.accepted === 0
          ? ' — the file has no transactions.'
          : ' — ready to import.',
    );
    const list = bad
      ? h(
          'ul',
          { class: 'csv-rejected', 'data-testid': 'csv-rejected' },
          ...r.rejected.map((l) =>
            h('li', { 'data-line': String(l.line), 'data-testid': 'csv-rejected-line' }, h('strong', {}, `Line ${l.line}`), `: ${l.errors.join('; ')}`),
          ),
        )
      : null;
    // A problem with a line number is listed with the lines already (the server adds it to `rejected`).
    const problem = r.problem && r.problem.line === undefined ? h('p', { class: 'form-error', 'data-testid': 'csv-problem' }, r.problem.message) : null;
    this.report.replaceChildren(summary, list ?? '', problem ?? '');
  }
}
