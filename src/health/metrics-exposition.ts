import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, register } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { RedisLinkState } from '../bus/redis-link';
import { refreshDependencyGauges } from '../realtime/realtime.metrics';

let defaultsCollected = false;

/**
 * prom-client's default metrics left out: each scrape of these lists every libuv handle or active
 * resource (one per socket), which held the event loop for 10-18 ms per scrape at 5,000 connections
 * (the bench's CPU profile of the latency-under-load windows) and grows with every connection;
 * realtime_connections counts the sockets instead.
 */
export const SKIPPED_DEFAULT_METRICS = ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total'];

/** prom-client's process metrics (CPU, memory, event loop lag, open files, ...), registered once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  collectDefaultMetrics({ register });
  for (const name of SKIPPED_DEFAULT_METRICS) register.removeSingleMetric(name);
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
