import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { Envelope, IoProbe, openProbe, WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

const SYMBOLS = ['AAPL', 'MSFT', 'GOOGL'];

function updatesIn(frames: Envelope[]): any[] {
  return frames.flatMap((f) => (f.type === 'asset_updates' ? f.data.updates : f.type === 'asset_update' ? [f.data] : []));
}

/** Opt-in batched frames: one `asset_updates` frame per interval per client. */
describe('realtime: batched frames (opt-in)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('?batch=50ms on the raw WebSocket URL: updates arrive grouped, complete and in order', async () => {
    const p = await WsProbe.open(t.wsUrl, { query: 'batch=50ms' });
    expect((await p.next('connection')).data.batch_ms).toBe(50);
    p.send('subscribe_asset', { symbols: SYMBOLS });
    await p.next('subscribed');
    const ROUNDS = 20;
    for (let i = 1; i <= ROUNDS; i++)
      await publishTicks(
        t,
        SYMBOLS.map((s) => tick(s, (200 + i).toFixed(2))),
      );
    const done = () =>
      SYMBOLS.every(
        (s) =>
          updatesIn(p.inbox.received)
            .filter((u) => u.symbol === s)
            .at(-1)?.price ===
          200 + ROUNDS,
      );
    await poll('every update of the last round', done, 5000);
    const frames = p.inbox.received.filter((m) => m.type === 'asset_updates');
    expect(p.inbox.received.filter((m) => m.type === 'asset_update')).toEqual([]);
    const updates = updatesIn(frames);
    // Every live update (a snapshot is skipped when a live update beat it), in fewer frames than updates.
    const live = updates.filter((u) => u.source === 'test');
    expect(live).toHaveLength(SYMBOLS.length * ROUNDS);
    expect(frames.length).toBeLessThan(updates.length);
    for (const s of SYMBOLS) {
      const mine = updates.filter((u) => u.symbol === s);
      for (let i = 1; i < mine.length; i++) expect(mine[i].seq).toBeGreaterThan(mine[i - 1].seq);
      expect(live.filter((u) => u.symbol === s).map((u) => u.price)).toEqual(Array.from({ length: ROUNDS }, (_, i) => 201 + i));
    }
    await p.close();
  });

  it.each(['websocket', 'socketio'] as const)('%s: set_options switches batching on and off', async (kind) => {
    const p = await openProbe(kind, t);
    expect((await p.next('connection')).data.batch_ms).toBe(0);
    p.send('subscribe_asset', { symbol: 'NVDA' });
    await p.next('subscribed');
    await p.next('asset_update');
    p.send('set_options', { batch_ms: 20 }, 'opt');
    expect((await p.next('options')).data).toEqual({ batch_ms: 20 });
    await publishTicks(t, [tick('NVDA', '500.00')]);
    await publishTicks(t, [tick('NVDA', '501.00')]);
    const batch = await p.next('asset_updates');
    await poll('both updates', () => updatesIn(p.inbox.received).some((u) => u.price === 501));
    expect(batch.data.updates[0]).toMatchObject({ symbol: 'NVDA', price: 500 });
    p.send('set_options', { batch_ms: 0 });
    expect((await p.next('options')).data.batch_ms).toBe(0);
    await publishTicks(t, [tick('NVDA', '502.00')]);
    expect((await p.next('asset_update')).data.price).toBe(502);
    if (p instanceof IoProbe) expect(p.events).toContain('asset_updates');
    await p.close();
  });
});
