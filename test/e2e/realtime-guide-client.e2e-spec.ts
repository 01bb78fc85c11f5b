import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { Hooks, renderHook } from '../support/realtime-hooks';
import { poll } from '../support/poll';
import { GUIDE_PATH, GUIDE_SIMPLE_WEBSOCKET_CLIENT, GUIDE_USE_WEBSOCKET_HOOK, SHARED_GUIDE_PATH } from '../support/realtime-guide-client';

const ROOT = join(__dirname, '..', '..');

type Msg = { type: string; data: any; timestamp?: string };

/** Evaluates the guide's SimpleWebSocketClient source unchanged, with `ws` as the global WebSocket. */
function loadGuideClient(WebSocketImpl: unknown, logs: unknown[][]): new (url: string) => any {
  const console = { log: (...args: unknown[]) => logs.push(args) };
  return new Function('WebSocket', 'console', `${GUIDE_SIMPLE_WEBSOCKET_CLIENT}\nreturn SimpleWebSocketClient;`)(WebSocketImpl, console);
}

function loadGuideHook(WebSocketImpl: unknown) {
  return (url: string) => (hooks: Hooks) =>
    new Function('useState', 'useEffect', 'useRef', 'WebSocket', `${GUIDE_USE_WEBSOCKET_HOOK}\nreturn useWebSocket;`)(
      hooks.useState,
      hooks.useEffect,
      hooks.useRef,
      WebSocketImpl,
    )(url) as { isConnected: boolean; messages: Msg[]; sendMessage: (type: string, data: unknown) => void };
}

describe("the specification guide's JavaScript clients, run verbatim in Node with `ws`", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the embedded client code is still identical to the specification guide', () => {
    const text = readFileSync(join(ROOT, GUIDE_PATH), 'utf8');
    expect(text).toContain(GUIDE_SIMPLE_WEBSOCKET_CLIENT.trimEnd());
    expect(text).toContain(GUIDE_USE_WEBSOCKET_HOOK.trimEnd());
  });

  it("the repository's copy of the guide is the shared original, where the original is reachable", () => {
    const shared = join(ROOT, SHARED_GUIDE_PATH);
    const copy = readFileSync(join(ROOT, GUIDE_PATH), 'utf8');
    expect(copy.length).toBeGreaterThan(10_000);
    // Outside the team's workspace only the copy exists; inside it the two must not drift.
    expect(existsSync(shared) ? readFileSync(shared, 'utf8') : copy).toBe(copy);
  });

  it('SimpleWebSocketClient connects, pings, subscribes to AAPL and gets live asset_update messages', async () => {
    const logs: unknown[][] = [];
    const SimpleWebSocketClient = loadGuideClient(WebSocket, logs);
    const updates: any[] = [];
    const client = new SimpleWebSocketClient(`${t.wsUrl}/ws/realtime/`);
    // The guide leaves these two to the application.
    client.updateAssetPrice = (data: any) => updates.push(data);
    client.updatePortfolioValue = () => undefined;
    client.connect();
    await poll('pong for the onopen ping', () => logs.some((l) => l[0] === 'Received:' && (l[1] as Msg).type === 'pong'));
    expect(logs[0]).toEqual(['Connected to WebSocket']);
    const connection = logs.find((l) => l[0] === 'Received:' && (l[1] as Msg).type === 'connection')![1] as Msg;
    expect(connection.data).toMatchObject({ status: 'connected', authenticated: false, user_id: null });

    client.subscribeToAsset('AAPL');
    await poll('the snapshot', () => updates.length === 1);
    await publishTicks(t, [tick('AAPL', '150.25', { previous_close: '147.75', volume: '50000000', high: '151.00', low: '148.50' })]);
    await poll('a live update', () => updates.length === 2);
    expect(updates[1]).toMatchObject({ symbol: 'AAPL', price: 150.25, change: 2.5, change_percent: 1.692, volume: 50000000, high: 151, low: 148.5 });

    client.socket.close();
    await poll('onclose', () => logs.some((l) => l[0] === 'WebSocket connection closed'));
  });

  it("the guide's React hook (useWebSocket) connects, sends and collects messages", async () => {
    const useWebSocket = loadGuideHook(WebSocket);
    const h = renderHook(useWebSocket(`${t.wsUrl}/ws/realtime/`));
    await poll('isConnected', () => h.current.isConnected);
    h.current.sendMessage('subscribe_asset', { symbol: 'MSFT' });
    await poll('the snapshot through the hook', () => h.current.messages.some((m) => m.type === 'asset_update'));
    await publishTicks(t, [tick('MSFT', '420.50')]);
    await poll('the live update', () => h.current.messages.filter((m) => m.type === 'asset_update').at(-1)?.data.price === 420.5);
    expect(h.current.messages.map((m) => m.type).slice(0, 2)).toEqual(['connection', 'subscribed']);
    // Unmount runs the hook's cleanup (socket.close()): the server releases the connection.
    h.unmount();
    await poll('the server sees the close', () => t.app.get(RealtimeHub).stats().total_connections === 0);
  });
});
