/**
 * The REST calls the pages make (same origin, session cookie). Errors use the
 * API's shape `{statusCode, error, message, details?}`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `Server unreachable (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string | string[]; details?: unknown };
    const msg = Array.isArray(e.message) ? e.message.join('; ') : e.message;
    const details = Array.isArray(e.details) ? `: ${e.details.join('; ')}` : '';
    throw new ApiError(res.status, e.error ?? `HTTP_${res.status}`, (msg ?? res.statusText ?? 'Request failed') + details, e.details);
  }
  return json as T;
}

export const api = {
  get: <T>(url: string) => request<T>('GET', url),
  post: <T>(url: string, body?: unknown) => request<T>('POST', url, body ?? {}),
  patch: <T>(url: string, body: unknown) => request<T>('PATCH', url, body),
  put: <T>(url: string, body: unknown) => request<T>('PUT', url, body),
  del: <T>(url: string) => request<T>('DELETE', url),
};

// ---------------------------------------------------------------- shapes

export interface User {
  id: number;
  username: string;
}

export interface AssetInfo {
  symbol: string;
  name: string;
  asset_type: string;
  currency?: string;
  exchange?: string | null;
  current_price?: string | number | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface HistoryPoint {
  /** Seconds since the epoch. */
  time: number;
  close: number;
}

/** GET /api/portfolios items and GET /api/portfolios/:id: the portfolio with its valuation (money as decimal strings). */
export interface PortfolioSummary {
  id: number;
  name: string;
  base_currency: string;
  positions_count: number;
  total_value: string;
  daily_change: string;
  daily_change_percent: string;
  stale: boolean;
  as_of: string | null;
}

export interface PositionView {
  id: number;
  symbol: string;
  name: string;
  asset_type: string;
  quantity: string;
  average_cost: string;
  current_price: string | null;
  previous_close: string | null;
  market_value: string;
  daily_change: string;
  unrealized_gain: string | null;
}

export interface PortfolioDetail extends PortfolioSummary {
  positions: PositionView[];
}

// ---------------------------------------------------------------- calls

export async function me(): Promise<User | null> {
  try {
    const r = await api.get<User | { user: User }>('/auth/me');
    return 'user' in r ? r.user : r;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return null;
    throw err;
  }
}

export async function login(username: string, password: string): Promise<User> {
  const r = await api.post<User | { user: User }>('/auth/login', { username, password });
  return r && 'user' in r ? r.user : r;
}

export async function logout(): Promise<void> {
  await api.post('/auth/logout');
}

export function searchAssets(q: string, limit = 8): Promise<Page<AssetInfo>> {
  const p = new URLSearchParams({ q, limit: String(limit), offset: '0' });
  return api.get<Page<AssetInfo>>(`/api/assets?${p}`);
}

/** The whole catalog (paged through), for names and types of watched symbols. */
export async function allAssets(): Promise<AssetInfo[]> {
  const out: AssetInfo[] = [];
  const limit = 500;
  for (let offset = 0, guard = 0; guard < 50; guard++) {
    const page = await api.get<Page<AssetInfo>>(`/api/assets?limit=${limit}&offset=${offset}`);
    out.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  return out;
}

type RawHistory = { items?: unknown[]; history?: unknown[]; points?: unknown[]; data?: unknown[] } | unknown[];

/** Daily closes for the chart, oldest first, one point per time. */
export async function history(symbol: string, days = 30): Promise<HistoryPoint[]> {
  const raw = await api.get<RawHistory>(`/api/assets/${encodeURIComponent(symbol)}/history?days=${days}`);
  const rows = Array.isArray(raw) ? raw : (raw.items ?? raw.history ?? raw.points ?? raw.data ?? []);
  const points: HistoryPoint[] = [];
  for (const r of rows as Record<string, unknown>[]) {
    const t = r.timestamp ?? r.date ?? r.time;
    const v = r.close ?? r.price;
    const time = typeof t === 'number' ? (t > 1e12 ? Math.floor(t / 1000) : t) : Math.floor(new Date(String(t)).getTime() / 1000);
    const close = Number(v);
    if (Number.isFinite(time) && Number.isFinite(close)) points.push({ time, close });
  }
  points.sort((a, b) => a.time - b.time);
  return points.filter((p, i) => i === 0 || p.time > points[i - 1]!.time);
}

export async function portfolios(): Promise<PortfolioSummary[]> {
  const r = await api.get<PortfolioSummary[] | Page<PortfolioSummary>>('/api/portfolios');
  return Array.isArray(r) ? r : r.items;
}

/** One portfolio with its valuation and positions. */
export function portfolio(id: number): Promise<PortfolioDetail> {
  return api.get<PortfolioDetail>(`/api/portfolios/${id}`);
}

export function addPosition(portfolioId: number, body: { symbol: string; quantity: string; average_cost: string }): Promise<PositionView> {
  return api.post<PositionView>(`/api/portfolios/${portfolioId}/positions`, body);
}

export function updatePosition(portfolioId: number, positionId: number, body: { quantity: string; average_cost: string }): Promise<PositionView> {
  return api.patch<PositionView>(`/api/portfolios/${portfolioId}/positions/${positionId}`, body);
}

export function deletePosition(portfolioId: number, positionId: number): Promise<unknown> {
  return api.del(`/api/portfolios/${portfolioId}/positions/${positionId}`);
}
