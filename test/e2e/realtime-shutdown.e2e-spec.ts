import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

/** Sends a bare upgrade request and returns the raw HTTP answer (bounded in time). */
function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${path} within 5 s; got: ${JSON.stringify(answer)}`));
    }, 5_000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
  });
}

/**
 * A client that reconnects while the server is shutting down (the typed client
 * does so within ~100 ms of the 1001) must be refused at once on both endpoints,
 * and must not keep the HTTP server from closing.
 */
describe('realtime: upgrades during shutdown', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are refused with 503 SHUTTING_DOWN on both endpoints, and shutdown completes', async () => {
    const hub = t.app.get(RealtimeHub);
    // A peer that never answers the close keeps the shutdown in its grace period.
    const frozen = await WsProbe.open(t.wsUrl);
    await frozen.next('connection');
    frozen.pause();
    expect(hub.stats().total_connections).toBe(1);

    const stopping = t.stop();
    await poll('the hub to drop its connections', () => hub.stats().total_connections === 0);

    const [raw, sio] = await Promise.all([rawUpgrade(t.port, '/ws/realtime/'), rawUpgrade(t.port, '/socket.io/?EIO=4&transport=websocket')]);
    for (const answer of [raw, sio]) {
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 503, error: 'SHUTTING_DOWN' });
    }
    // Nothing was let in while closing.
    expect(hub.stats().total_connections).toBe(0);

    await stopping; // hangs (test timeout) if a refused or stray upgrade kept the server open
    await expect(rawUpgrade(t.port, '/ws/realtime/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    frozen.ws.terminate();
  });
});
