import { register } from 'prom-client';
import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import type { RedisLinkState } from '../bus/redis-link';
import { bearerTokenMatches } from '../health/metrics-exposition';
import type { Connection } from './hub/connection';
import { OutboundFlow } from './hub/outbound-flow';
import { SubscriptionIndex } from './hub/subscription-index';
import { databaseAnswers, inboundTypeLabel, observeFanout, refreshDependencyGauges, watchRealtimeHub } from './realtime.metrics';

async function samples(name: string): Promise<{ labels: Partial<Record<string, string | number>>; value: number; metricName?: string }[]> {
  return (await register.getSingleMetric(name)!.get()).values;
}

function fakeDb(query: () => Promise<unknown>, isInitialized = true): DataSource & { calls: number } {
  const db = {
    isInitialized,
    calls: 0,
    query: () => {
      db.calls++;
      return query();
    },
  };
  return db as unknown as DataSource & { calls: number };
}

describe('realtime metrics', () => {
  it('labels inbound messages with client message types only', () => {
    expect(inboundTypeLabel('subscribe_asset')).toBe('subscribe_asset');
    expect(inboundTypeLabel('ping')).toBe('ping');
    expect(inboundTypeLabel('__proto__')).toBe('unknown');
    expect(inboundTypeLabel('x'.repeat(64))).toBe('unknown');
    expect(inboundTypeLabel(null)).toBe('unknown');
  });

  it('reads connections, subscriptions, frames and deliveries from the watched hubs at scrape time, summed', async () => {
    const conns = [
      { kind: 'websocket', userId: null },
      { kind: 'websocket', userId: 7 },
      { kind: 'socketio', userId: 7 },
    ] as unknown as Connection[];
    const flow = new OutboundFlow({ highWater: 1, hardLimit: 2, stallMs: 1, pollMs: 1 }, () => undefined);
    const counters = { ticks: 5, ticks_dropped: 1, asset_frames: 4, portfolio_frames: 2, deliveries: 13, asset_deliveries: 10 };
    const unwatchA = watchRealtimeHub({ connections: () => conns, index: new SubscriptionIndex(), flow, counters });
    const unwatchB = watchRealtimeHub({ connections: () => conns.slice(0, 1), index: new SubscriptionIndex(), flow, counters: { ...counters } });
    try {
      const connections = await samples('realtime_connections');
      const of = (transport: string, authenticated: string) =>
        connections.find((s) => s.labels.transport === transport && s.labels.authenticated === authenticated)?.value;
      expect(of('websocket', 'false')).toBe(2);
      expect(of('websocket', 'true')).toBe(1);
      expect(of('socketio', 'true')).toBe(1);
      expect(of('socketio', 'false')).toBe(0);
      const deliveries = await samples('realtime_deliveries_total');
      expect(deliveries.find((s) => s.labels.type === 'asset_update')?.value).toBe(20);
      expect(deliveries.find((s) => s.labels.type === 'portfolio_update')?.value).toBe(6);
      expect((await samples('realtime_frames_total')).find((s) => s.labels.type === 'portfolio_update')?.value).toBe(4);
    } finally {
      unwatchA();
      unwatchB();
    }
    expect((await samples('realtime_connections')).every((s) => s.value === 0)).toBe(true);
    expect((await samples('realtime_deliveries_total')).every((s) => s.value === 0)).toBe(true);
  });

  it('observes the fan-out latency once per frame', async () => {
    const count = async () =>
      (await samples('realtime_fanout_latency_seconds')).find((s) => s.metricName === 'realtime_fanout_latency_seconds_count')?.value ?? 0;
    const before = await count();
    observeFanout(Date.now() - 20, 3);
    observeFanout(Date.now() + 60_000, 1); // a clock ahead of ours: 0, never negative
    expect((await count()) - before).toBe(4);
  });

  it('bounds the database check and never runs two at once', async () => {
    let release!: () => void;
    const frozen = fakeDb(() => new Promise<void>((r) => (release = r)));
    const started = Date.now();
    expect(await databaseAnswers(frozen, 50)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await databaseAnswers(frozen, 50)).toBe(false);
    expect(frozen.calls).toBe(1); // the first SELECT 1 is still in flight: not sent again
    release();
    expect(await databaseAnswers(frozen, 50)).toBe(true); // the pending one answered
    expect(
      await databaseAnswers(
        fakeDb(() => Promise.reject(new Error('down'))),
        50,
      ),
    ).toBe(false);
    expect(
      await databaseAnswers(
        fakeDb(() => Promise.resolve([]), false),
        50,
      ),
    ).toBe(false);
  });

  it('sets the dependency gauge; no Redis sample when Redis is not configured', async () => {
    const link = (status: string) => ({ status: () => status }) as unknown as RedisLinkState;
    await refreshDependencyGauges({ database: fakeDb(() => Promise.resolve([])), redis: link('down') });
    const byDep = async () => Object.fromEntries((await samples('realtime_dependency_up')).map((s) => [s.labels.dependency, s.value]));
    expect(await byDep()).toEqual({ postgres: 1, redis: 0 });
    await refreshDependencyGauges({ database: fakeDb(() => Promise.reject(new Error('x'))), redis: link('not configured') });
    expect(await byDep()).toEqual({ postgres: 0 });
  });

  it('matches a bearer token exactly', () => {
    const token = 'metrics-token-0123456789';
    expect(bearerTokenMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerTokenMatches(`bearer ${token}`, token)).toBe(true);
    for (const h of [undefined, '', token, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, `Bearer ${token} extra`, 'Bearer ']) {
      expect(bearerTokenMatches(h, token), String(h)).toBe(false);
    }
  });
});
