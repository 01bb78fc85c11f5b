/** The sign to show: none when the shown digits are all zero (no "−0.00%"). */
function sign(n: number, shown: string): string {
  if (!/[1-9]/.test(shown)) return '';
  return n > 0 ? '+' : n < 0 ? '−' : '';
}

/** Number formatting for prices, changes, money and volumes (display only; values come from the server). */

export function priceDecimals(price: number, assetType?: string): number {
  const abs = Math.abs(price);
  if (assetType === 'FOREX') return abs >= 20 ? 3 : 5;
  if (abs >= 1) return 2;
  if (abs >= 0.01) return 4;
  return 6;
}

const fixedCache = new Map<number, Intl.NumberFormat>();
function fixed(decimals: number): Intl.NumberFormat {
  let f = fixedCache.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    fixedCache.set(decimals, f);
  }
  return f;
}

export function formatPrice(price: number | null | undefined, assetType?: string): string {
  if (price === null || price === undefined || !Number.isFinite(price)) return '—';
  return fixed(priceDecimals(price, assetType)).format(price);
}

/** `+1.23` / `−0.45` with the price's precision. */
export function formatChange(change: number | null | undefined, reference: number, assetType?: string): string {
  if (change === null || change === undefined || !Number.isFinite(change)) return '—';
  const s = fixed(priceDecimals(reference, assetType)).format(Math.abs(change));
  return `${sign(change, s)}${s}`;
}

export function formatPercent(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return '—';
  const s = fixed(2).format(Math.abs(pct));
  return `${sign(pct, s)}${s}%`;
}

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
export function formatVolume(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return compact.format(v);
}

const moneyCache = new Map<string, Intl.NumberFormat>();
export function formatMoney(value: number | string | null | undefined, currency = 'USD'): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let f = moneyCache.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
    } catch {
      f = fixed(2);
    }
    moneyCache.set(currency, f);
  }
  return f.format(n);
}

/** Signed money: `+$1,234.50` / `−$12.00`. */
export function formatSignedMoney(value: number | string | null | undefined, currency = 'USD'): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const s = formatMoney(Math.abs(n), currency);
  return `${sign(n, s)}${s}`;
}

export function formatQuantity(q: string | number): string {
  const n = Number(q);
  if (!Number.isFinite(n)) return String(q);
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: 8 }).format(n);
}

export function signClass(n: number | null | undefined): '' | 'up' | 'down' {
  if (n === null || n === undefined || !Number.isFinite(n) || n === 0) return '';
  return n > 0 ? 'up' : 'down';
}

export function formatClock(d: Date | string | number): string {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleTimeString('en-GB', { hour12: false });
}
