import { afterEach, describe, expect, it } from 'vitest';
import type { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { Connection } from './connection';
import { OutboundFlow } from './outbound-flow';
import { OutboundFrame } from './outbound-frame';

/** A connection whose socket is simulated: frames land in `sent`, buffered bytes are set by the test. */
class SimulatedConnection extends Connection {
  readonly kind = 'websocket' as const;
  buffered = 0;
  sent: OutboundFrame[] = [];
  closedWith: number | null = null;
  bufferedBytes() {
    return this.buffered;
  }
  sendFrame(f: OutboundFrame) {
    this.sent.push(f);
  }
  sendMessage(_m: ServerMessage) {}
  ping() {
    return true;
  }
  close(code: CloseCode) {
    this.closedWith = code;
  }
  terminate() {}
}

const frame = (symbol: string, seq: number) => new OutboundFrame('asset_update', JSON.stringify({ symbol, seq }), 'ts', `a:${symbol}`);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OutboundFlow', () => {
  let flow: OutboundFlow;
  const dropped: [Connection, number][] = [];
  const make = (stallMs = 60_000) => {
    flow = new OutboundFlow({ highWater: 1000, hardLimit: 5000, stallMs, pollMs: 5 }, (c, code) => {
      dropped.push([c, code]);
      c.open = false;
    });
    return flow;
  };
  afterEach(() => {
    flow?.stop();
    dropped.length = 0;
  });

  it('sends straight through below the high-water mark', () => {
    make();
    const c = new SimulatedConnection();
    flow.deliver(c, frame('A', 1));
    flow.deliver(c, frame('A', 2));
    expect(c.sent.map((f) => JSON.parse(f.dataJson).seq)).toEqual([1, 2]);
  });

  it('conflates above the mark (newest per topic) and flushes in order once drained', async () => {
    make();
    const c = new SimulatedConnection();
    c.buffered = 1500;
    for (let seq = 1; seq <= 5; seq++) {
      flow.deliver(c, frame('A', seq));
      flow.deliver(c, frame('B', seq));
    }
    expect(c.sent).toEqual([]);
    expect(c.conflated?.size).toBe(2);
    flow.forgetTopic(c, 'a:B');
    c.buffered = 100;
    for (let i = 0; i < 100 && c.conflated; i++) await wait(5);
    expect(c.sent.map((f) => JSON.parse(f.dataJson))).toEqual([{ symbol: 'A', seq: 5 }]);
    flow.deliver(c, frame('A', 6));
    expect(c.sent).toHaveLength(2);
  });

  it('closes with 1013 past the hard limit or the stall timeout', async () => {
    make(30);
    const a = new SimulatedConnection();
    a.buffered = 6000;
    flow.deliver(a, frame('A', 1));
    expect(dropped).toEqual([[a, 1013]]);
    const b = new SimulatedConnection();
    b.buffered = 1500;
    flow.deliver(b, frame('A', 1));
    for (let i = 0; i < 100 && dropped.length < 2; i++) await wait(5);
    expect(dropped[1]).toEqual([b, 1013]);
  });
});
