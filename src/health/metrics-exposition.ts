import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, register } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { RedisLinkState } from '../bus/redis-link';
import { refreshDependencyGauges } from '../realtime/realtime.metrics';

let defaultsCollected = false;

/** prom-client's process metrics (CPU, memory, event loop lag, ...), registered once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  collectDefaultMetrics({ register });
  defaultsCollected = true;
}

export const METRICS_CONTENT_TYPE = register.contentType;

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the header holds (its length included).
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

/** The Prometheus text exposition of the default registry, after the scrape-time dependency checks (bounded). */
export async function scrapeMetrics(deps: { database?: DataSource | null; redis?: RedisLinkState | null }): Promise<string> {
  await refreshDependencyGauges(deps);
  return register.metrics();
}
