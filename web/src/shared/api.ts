/**
 * The REST calls the pages make (same origin, session cookie). Errors use the
 * API's shape `{statusCode, error, message, details?}` (ErrorResponse). The
 * response types are the server's (src/common/api-types.ts, through client/).
 */
import type {
  AssetHistoryJson,
  AssetJson,
  AssetPage,
  ErrorResponse,
  LogoutJson,
  PerformanceRange,
  PortfolioHistory,
  PortfolioJson,
  PortfolioList,
  PortfolioPerformance,
  PositionJson,
  UserJson,
} from '../../../client';

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

/** A body sent as it is (a CSV file), not as JSON. */
interface RawBody {
  raw: string;
  contentType: string;
}

async function request<T>(method: string, url: string, body?: unknown, rawBody?: RawBody): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: rawBody
        ? { accept: 'application/json', 'content-type': rawBody.contentType }
        : body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      body: rawBody ? rawBody.raw : body === undefined ? undefined : JSON.stringify(body),
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
    const e = (json ?? {}) as Partial<ErrorResponse>;
    const msg = e.message;
    const details = Array.isArray(e.details) ? `: ${e.details.join('; ')}` : '';
    throw new ApiError(res.status, e.error ?? `HTTP_${res.status}`, (msg ?? res.statusText ?? 'Request failed') + details, e.details);
  }
  return json as T;
}

export const api = {
  get: <T>(url: string) => request<T>('GET', url),
  post: <T>(url: string, body?: unknown) => request<T>('POST', url, body ?? {}),
  /** POST of a text body with its own content type (the CSV import). */
  postText: <T>(url: string, raw: string, contentType: string) => request<T>('POST', url, undefined, { raw, contentType }),
  patch: <T>(url: string, body: unknown) => request<T>('PATCH', url, body),
  put: <T>(url: string, body: unknown) => request<T>('PUT', url, body),
  del: <T>(url: string) => request<T>('DELETE', url),
};

// ---------------------------------------------------------------- shapes

/** GET /api/portfolios/:id: a portfolio with its positions (`positions` is always present there). */
export type PortfolioDetail = PortfolioJson & { positions: PositionJson[] };

/** One point of the chart (derived from the history's daily bars). */
export interface HistoryPoint {
  /** Seconds since the epoch. */
  time: number;
  close: number;
}

// ---------------------------------------------------------------- calls

/** The logged-in user, or null (401). */
export async function me(): Promise<UserJson | null> {
  try {
    return await api.get<UserJson>('/auth/me');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return null;
    throw err;
  }
}

export function login(username: string, password: string): Promise<UserJson> {
  return api.post<UserJson>('/auth/login', { username, password });
}

export async function logout(): Promise<void> {
  await api.post<LogoutJson>('/auth/logout');
}

export function searchAssets(q: string, limit = 8): Promise<AssetPage> {
  const p = new URLSearchParams({ q, limit: String(limit), offset: '0' });
  return api.get<AssetPage>(`/api/assets?${p}`);
}

/** The whole catalog (paged through), for names and types of watched symbols. */
export async function allAssets(): Promise<AssetJson[]> {
  const out: AssetJson[] = [];
  const limit = 500;
  for (let offset = 0, guard = 0; guard < 50; guard++) {
    const page = await api.get<AssetPage>(`/api/assets?limit=${limit}&offset=${offset}`);
    out.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  return out;
}

/** Daily closes for the chart, oldest first, one point per time. */
export async function history(symbol: string, days = 30): Promise<HistoryPoint[]> {
  const res = await api.get<AssetHistoryJson>(`/api/assets/${encodeURIComponent(symbol)}/history?days=${days}`);
  const points: HistoryPoint[] = [];
  for (const bar of res.items) {
    const time = Math.floor(Date.parse(bar.timestamp) / 1000);
    const close = Number(bar.close);
    if (Number.isFinite(time) && Number.isFinite(close)) points.push({ time, close });
  }
  points.sort((a, b) => a.time - b.time);
  return points.filter((p, i) => i === 0 || p.time > points[i - 1]!.time);
}

/** Your portfolios with their valuation (no positions). */
export async function portfolios(): Promise<PortfolioJson[]> {
  return (await api.get<PortfolioList>('/api/portfolios')).items;
}

/** One portfolio with its valuation and positions. */
export function portfolio(id: number): Promise<PortfolioDetail> {
  return api.get<PortfolioDetail>(`/api/portfolios/${id}`);
}

export function addPosition(portfolioId: number, body: { symbol: string; quantity: string; average_cost: string }): Promise<PositionJson> {
  return api.post<PositionJson>(`/api/portfolios/${portfolioId}/positions`, body);
}

export function updatePosition(portfolioId: number, positionId: number, body: { quantity: string; average_cost: string }): Promise<PositionJson> {
  return api.patch<PositionJson>(`/api/portfolios/${portfolioId}/positions/${positionId}`, body);
}

/** 204, no body. */
export async function deletePosition(portfolioId: number, positionId: number): Promise<void> {
  await api.del<undefined>(`/api/portfolios/${portfolioId}/positions/${positionId}`);
}

/** A portfolio's daily value history (value, cost basis, cash, flows) over a range. */
export function portfolioHistory(id: number, range: PerformanceRange = '1m'): Promise<PortfolioHistory> {
  return api.get<PortfolioHistory>(`/api/portfolios/${id}/history?range=${range}`);
}

/** Returns, P/L, dividends and allocation over a range. */
export function portfolioPerformance(id: number, range: PerformanceRange = '1m'): Promise<PortfolioPerformance> {
  return api.get<PortfolioPerformance>(`/api/portfolios/${id}/performance?range=${range}`);
}
