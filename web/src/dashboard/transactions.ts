import { attachAutocomplete } from '../shared/autocomplete';
import { $, h, notify, setText } from '../shared/dom';
import { formatQuantity, priceDecimals } from '../shared/format';
import {
  createTransaction,
  deleteTransaction,
  errorText,
  exportCsvUrl,
  ledgerCodeOf,
  listTransactions,
  TRANSACTION_TYPES,
  updateTransaction,
  type TransactionBody,
  type TransactionJson,
  type TransactionTypeName,
} from './ledger-api';

type Field = 'symbol' | 'quantity' | 'price';

/**
 * What each type needs and refuses (src/portfolios/transactions/transaction-rules.ts): the form
 * disables a refused field and says in its placeholder what a needed one means. The server
 * checks everything again; its messages are the ones shown.
 */
const FORM_RULES: Record<TransactionTypeName, { label: string; refuses: Field[]; placeholder: Partial<Record<Field, string>> }> = {
  BUY: { label: 'Buy', refuses: [], placeholder: {} },
  SELL: { label: 'Sell', refuses: [], placeholder: {} },
  DIVIDEND: { label: 'Dividend', refuses: [], placeholder: { quantity: 'Shares (opt.)', price: 'Per share / total' } },
  FEE: { label: 'Fee', refuses: ['quantity'], placeholder: { symbol: 'Symbol (opt.)', price: 'Amount' } },
  SPLIT: { label: 'Split', refuses: ['price'], placeholder: { quantity: 'Ratio (new/old)' } },
  DEPOSIT: { label: 'Deposit', refuses: ['symbol', 'quantity'], placeholder: { price: 'Amount' } },
  WITHDRAWAL: { label: 'Withdrawal', refuses: ['symbol', 'quantity'], placeholder: { price: 'Amount' } },
};
const DEFAULT_PLACEHOLDER: Record<Field, string> = { symbol: 'Symbol', quantity: 'Quantity', price: 'Price' };

/** Today in UTC: the server refuses later dates. */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** A decimal string as it is (exact), the integer part grouped: "12500.5" → "12,500.5"; null → "—". */
export function formatDecimal(s: string | null): string {
  if (s === null) return '—';
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  return `${m[1]}${m[2]!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[3] ?? ''}`;
}

/** Newest first: date, then id (the server lists in replay order, oldest first). */
function newestFirst(a: TransactionJson, b: TransactionJson): number {
  return a.date === b.date ? b.id - a.id : a.date < b.date ? 1 : -1;
}

/**
 * A portfolio's ledger on the dashboard: the transactions table (newest first), and one small
 * form that records a transaction or, after "Edit" on a row, changes it. A refused change (a
 * validation error, or the ledger's: a SELL beyond the holding, …) shows the server's message
 * next to the form and changes nothing. After every change `changed()` refreshes the portfolio
 * (positions, figures, allocation, chart, and this table).
 */
export class TransactionsPanel {
  private readonly form = $<HTMLFormElement>('#tx-form');
  private readonly error = $('[data-testid="tx-error"]', this.form);
  private readonly submit = $<HTMLButtonElement>('[data-testid="tx-submit"]', this.form);
  private readonly cancel = $<HTMLButtonElement>('[data-testid="tx-cancel"]', this.form);
  private readonly typeSelect = $<HTMLSelectElement>('select[name="type"]', this.form);
  private readonly tbody = $('#tx-body');
  private readonly empty = $('#tx-empty');
  private readonly count = $('#tx-count');
  private readonly exportLink = $<HTMLAnchorElement>('#tx-export');

  private portfolioId: number | null = null;
  private items: TransactionJson[] = [];
  private editing: TransactionJson | null = null;
  private seq = 0;
  private busy = false;

  constructor(
    private readonly changed: () => Promise<void>,
    private readonly livePrice: (symbol: string) => number | undefined,
  ) {
    this.typeSelect.replaceChildren(...TRANSACTION_TYPES.map((t) => h('option', { value: t }, FORM_RULES[t].label)));
    this.typeSelect.addEventListener('change', () => this.applyType());
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
    this.form.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.editing) this.stopEditing();
    });
    this.cancel.addEventListener('click', () => this.stopEditing());
    const symbol = this.input('symbol');
    attachAutocomplete(symbol, {
      onPick: (a) => {
        symbol.value = a.symbol;
        this.input('currency').placeholder = a.currency || 'USD';
        const type = this.type;
        const price = this.input('price');
        const live = this.livePrice(a.symbol) ?? (a.current_price != null ? Number(a.current_price) : undefined);
        if ((type === 'BUY' || type === 'SELL') && !price.value && live !== undefined && Number.isFinite(live) && live > 0) {
          price.value = live.toFixed(priceDecimals(live, a.asset_type));
        }
        (this.input('quantity').disabled ? price : this.input('quantity')).focus();
      },
    });
    this.resetForm();
    this.setPortfolio(null);
  }

  /** The portfolio shown (null: none): a different one empties the table and leaves editing. */
  setPortfolio(id: number | null, name = ''): void {
    if (id !== this.portfolioId) {
      this.portfolioId = id;
      this.seq++;
      this.items = [];
      this.tbody.replaceChildren();
      this.empty.hidden = true;
      setText(this.count, '');
      this.stopEditing();
      const table = this.tbody.closest('table')!;
      table.dataset.state = 'loading';
      delete table.dataset.count;
    }
    this.exportLink.hidden = id === null;
    if (id !== null) {
      this.exportLink.href = exportCsvUrl(id);
      const slug =
        name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || `portfolio-${id}`;
      this.exportLink.setAttribute('download', `${slug}-transactions.csv`);
    }
  }

  /** Fetches the transactions of the portfolio shown (after every change and reload). */
  async load(): Promise<void> {
    const id = this.portfolioId;
    if (id === null) return;
    const mine = ++this.seq;
    try {
      const items = await listTransactions(id);
      if (mine !== this.seq || id !== this.portfolioId) return;
      this.render(items);
    } catch (err) {
      if (mine === this.seq) notify(`Could not load the transactions: ${errorText(err)}`);
    }
  }

  // ---------------------------------------------------------------- table

  private render(items: TransactionJson[]): void {
    this.items = [...items].sort(newestFirst);
    this.tbody.replaceChildren(...this.items.map((t) => this.buildRow(t)));
    this.empty.hidden = this.items.length > 0;
    setText(this.count, this.items.length === 1 ? '1 transaction' : `${this.items.length} transactions`);
    const table = this.tbody.closest('table')!;
    table.dataset.state = 'loaded';
    table.dataset.count = String(this.items.length);
    // The transaction being edited went away (deleted elsewhere): nothing left to save.
    if (this.editing && !this.items.some((t) => t.id === this.editing!.id)) this.stopEditing();
  }

  private buildRow(t: TransactionJson): HTMLTableRowElement {
    const edit = h('button', { class: 'btn small', type: 'button', 'data-testid': 'tx-edit', 'aria-label': `Edit the ${t.type} of ${t.date}` }, 'Edit');
    edit.addEventListener('click', () => this.startEditing(t.id));
    const del = h('button', { class: 'btn small', type: 'button', 'data-testid': 'tx-delete', 'aria-label': `Delete the ${t.type} of ${t.date}` }, 'Delete');
    del.addEventListener('click', () => void this.remove(t, del));
    return h(
      'tr',
      {
        'data-testid': 'tx-row',
        'data-tx-id': String(t.id),
        'data-type': t.type,
        'data-symbol': t.symbol ?? '',
        class: this.editing?.id === t.id ? 'editing' : undefined,
      },
      h('td', { class: 'num hide-sm', 'data-col': 'date' }, t.date),
      h('td', { class: 'hide-sm', 'data-col': 'type' }, h('span', { class: `tx-type t-${t.type.toLowerCase()}` }, t.type)),
      // Phone layout (date and type columns hidden): the type and symbol, then the date and the amounts.
      h(
        'td',
        { 'data-col': 'symbol' },
        h('div', { class: 'sym' }, h('span', { class: `tx-type t-${t.type.toLowerCase()} show-sm-inline` }, FORM_RULES[t.type].label), t.symbol ?? '—'),
        h('div', { class: 'sub show-sm num' }, [t.date, summary(t)].filter(Boolean).join(' · ')),
      ),
      h('td', { class: 'r num hide-sm', 'data-col': 'quantity' }, formatDecimal(t.quantity)),
      h('td', { class: 'r num hide-sm', 'data-col': 'price' }, formatDecimal(t.price)),
      h('td', { class: 'r num hide-sm', 'data-col': 'fee' }, formatDecimal(t.fee)),
      h('td', { class: 'hide-sm', 'data-col': 'currency' }, t.currency),
      h('td', { class: 'hide-sm note', 'data-col': 'note', title: t.note || undefined }, t.note ?? ''),
      h('td', { class: 'actions' }, edit, del),
    );
  }

  /** Delete asks once more on the button itself ("Sure?"; undone when the focus moves on, or after a while), then deletes. */
  private async remove(t: TransactionJson, button: HTMLButtonElement): Promise<void> {
    const id = this.portfolioId;
    if (id === null || this.busy) return;
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = 'Sure?';
      button.classList.add('danger');
      const disarm = () => {
        clearTimeout(timer);
        button.removeEventListener('blur', disarm);
        if (button.dataset.armed !== 'true') return;
        delete button.dataset.armed;
        button.textContent = 'Delete';
        button.classList.remove('danger');
      };
      const timer = setTimeout(disarm, 8000);
      button.addEventListener('blur', disarm);
      return;
    }
    this.busy = true;
    button.disabled = true;
    this.showError(null);
    try {
      await deleteTransaction(id, t.id);
      if (this.editing?.id === t.id) this.stopEditing();
      notify(`Deleted the ${t.type} of ${t.date}`);
      await this.changed();
    } catch (err) {
      button.disabled = false;
      this.showError(err);
    } finally {
      this.busy = false;
    }
  }

  // ---------------------------------------------------------------- form

  private input(name: 'date' | 'symbol' | 'quantity' | 'price' | 'fee' | 'currency' | 'note'): HTMLInputElement {
    return this.form.elements.namedItem(name) as HTMLInputElement;
  }

  private get type(): TransactionTypeName {
    return this.typeSelect.value as TransactionTypeName;
  }

  /** Enables the fields the type takes; a refused one is cleared and disabled. */
  private applyType(): void {
    const rule = FORM_RULES[this.type] ?? FORM_RULES.BUY;
    for (const f of ['symbol', 'quantity', 'price'] as const) {
      const el = this.input(f);
      const refused = rule.refuses.includes(f);
      if (refused) el.value = '';
      el.disabled = refused;
      el.placeholder = refused ? '—' : (rule.placeholder[f] ?? DEFAULT_PLACEHOLDER[f]);
    }
  }

  private resetForm(): void {
    this.form.reset();
    this.input('date').value = todayUtc();
    this.input('currency').placeholder = 'USD';
    this.applyType();
  }

  private startEditing(txId: number): void {
    const t = this.items.find((x) => x.id === txId);
    if (!t || this.busy) return;
    this.editing = t;
    this.showError(null);
    this.typeSelect.value = t.type;
    this.applyType();
    this.input('date').value = t.date;
    this.input('symbol').value = t.symbol ?? '';
    this.input('quantity').value = t.quantity ?? '';
    this.input('price').value = t.price ?? '';
    this.input('fee').value = t.fee === '0' ? '' : t.fee;
    this.input('currency').value = t.currency;
    this.input('note').value = t.note ?? '';
    this.form.dataset.mode = 'edit';
    this.form.dataset.txId = String(t.id);
    setText(this.submit, 'Save changes');
    this.cancel.hidden = false;
    for (const tr of this.tbody.querySelectorAll('tr')) tr.classList.toggle('editing', tr.dataset.txId === String(t.id));
    this.form.scrollIntoView({ block: 'nearest' });
    this.input('date').focus();
  }

  private stopEditing(): void {
    const was = this.editing !== null;
    this.editing = null;
    this.form.dataset.mode = 'add';
    delete this.form.dataset.txId;
    setText(this.submit, 'Add transaction');
    this.cancel.hidden = true;
    for (const tr of this.tbody.querySelectorAll('tr.editing')) tr.classList.remove('editing');
    if (was) {
      this.resetForm();
      this.showError(null);
    }
  }

  private body(): TransactionBody {
    const value = (name: 'symbol' | 'quantity' | 'price' | 'fee' | 'currency') => {
      const el = this.input(name);
      return el.disabled ? '' : el.value.trim();
    };
    const currency = value('currency').toUpperCase();
    const note = this.input('note').value.trim();
    return {
      type: this.type,
      date: this.input('date').value.trim(),
      symbol: value('symbol').toUpperCase() || null,
      quantity: value('quantity') || null,
      price: value('price') || null,
      fee: value('fee') || null,
      ...(currency ? { currency } : {}),
      note: note || null,
    };
  }

  private async save(): Promise<void> {
    const id = this.portfolioId;
    if (id === null || this.busy) return;
    const body = this.body();
    this.showError(null);
    if (!body.date) return this.showError('Pick a date');
    const editing = this.editing;
    this.busy = true;
    this.submit.disabled = true;
    try {
      if (editing) {
        await updateTransaction(id, editing.id, body);
        this.stopEditing();
        notify(`Saved the ${body.type} of ${body.date}`);
      } else {
        const t = await createTransaction(id, body);
        // The next one is often of the same day and type: keep those, clear the rest.
        for (const f of ['symbol', 'quantity', 'price', 'fee', 'currency', 'note'] as const) this.input(f).value = '';
        this.input('currency').placeholder = 'USD';
        notify(`Recorded ${t.type}${t.symbol ? ` ${t.quantity ? `${formatQuantity(t.quantity)} ` : ''}${t.symbol}` : ''} on ${t.date}`);
      }
      await this.changed();
    } catch (err) {
      this.showError(err);
    } finally {
      this.busy = false;
      this.submit.disabled = false;
    }
  }

  /** The server's message next to the form (null clears it); `data-code` is the ledger's code, if any. */
  private showError(err: unknown): void {
    if (err === null) {
      setText(this.error, '');
      delete this.error.dataset.code;
      return;
    }
    setText(this.error, typeof err === 'string' ? err : errorText(err));
    const code = ledgerCodeOf(err);
    if (code) this.error.dataset.code = code;
    else delete this.error.dataset.code;
  }
}

/** The phone layout's amounts under the symbol: "10 × 150.25 USD", "ratio 2", "1,000 USD". */
function summary(t: TransactionJson): string {
  const parts: string[] = [];
  if (t.type === 'SPLIT') parts.push(`ratio ${formatDecimal(t.quantity)}`);
  else if (t.quantity !== null && t.price !== null) parts.push(`${formatDecimal(t.quantity)} × ${formatDecimal(t.price)} ${t.currency}`);
  else if (t.price !== null) parts.push(`${formatDecimal(t.price)} ${t.currency}`);
  if (t.fee !== '0') parts.push(`fee ${formatDecimal(t.fee)}`);
  return parts.join(' · ');
}
