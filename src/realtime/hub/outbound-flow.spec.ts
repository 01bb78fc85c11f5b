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
  /** What the socket saw, in order: 'cork', 'uncork', 'send:<seq>'. */
  log: string[] = [];
  override cork() {
    this.log.push('cork');
    return true;
  }
  override uncork() {
    this.log.push('uncork');
  }
  bufferedBytes() {
    return this.buffered;
  }
  sendFrame(f: OutboundFrame) {
    this.sent.push(f);
    this.log.push(`send:${JSON.parse(f.dataJson).seq}`);
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

  it('corks each socket on its first frame of a burst and uncorks every one at its end', () => {
    make();
    const a = new SimulatedConnection();
    const b = new SimulatedConnection();
    const idle = new SimulatedConnection();
    flow.deliver(a, frame('A', 1)); // outside a burst: no cork
    flow.beginBurst();
    flow.deliver(a, frame('A', 2));
    flow.deliver(b, frame('A', 2));
    flow.deliver(a, frame('B', 3));
    expect(a.log).toEqual(['send:1', 'cork', 'send:2', 'send:3']);
    flow.endBurst();
    expect(a.log).toEqual(['send:1', 'cork', 'send:2', 'send:3', 'uncork']);
    expect(b.log).toEqual(['cork', 'send:2', 'uncork']);
    expect(idle.log).toEqual([]);
    expect(a.corked || b.corked).toBe(false);
    // The next burst corks again.
    flow.beginBurst();
    flow.deliver(b, frame('A', 4));
    flow.endBurst();
    expect(b.log.slice(3)).toEqual(['cork', 'send:4', 'uncork']);
  });

  it('uncorks a socket that was closed for the hard limit in the middle of a burst (its close frame must go out)', () => {
    make();
    const c = new SimulatedConnection();
    flow.beginBurst();
    flow.deliver(c, frame('A', 1));
    c.buffered = 6000;
    flow.deliver(c, frame('A', 2));
    expect(dropped).toEqual([[c, 1013]]);
    flow.endBurst();
    expect(c.log).toEqual(['cork', 'send:1', 'uncork']);
  });

  it('flushes batched connections in five phases of the interval, each connection in one of them', async () => {
    make();
    const conns = Array.from({ length: 10 }, () => new SimulatedConnection());
    for (const c of conns) flow.setBatch(c, 50);
    for (const c of conns) {
      flow.deliver(c, frame('A', 1));
      flow.deliver(c, frame('B', 1));
    }
    for (let i = 0; i < 200 && conns.some((c) => c.sent.length === 0); i++) await wait(5);
    for (const c of conns) {
      expect(c.sent).toHaveLength(1);
      expect(c.sent[0].type).toBe('asset_updates');
      expect(JSON.parse(c.sent[0].dataJson).updates).toEqual([
        { symbol: 'A', seq: 1 },
        { symbol: 'B', seq: 1 },
      ]);
    }
    // Five phases of two connections each.
    const byPhase = new Map<number, number>();
    for (const c of conns) byPhase.set(c.batchPhase, (byPhase.get(c.batchPhase) ?? 0) + 1);
    expect([...byPhase.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...byPhase.values()]).toEqual([2, 2, 2, 2, 2]);
    // Leaving batching removes a connection from its phase; the group's timer stops with the last one.
    for (const c of conns) flow.setBatch(c, 0);
    expect((flow as unknown as { batchGroups: Map<number, unknown> }).batchGroups.size).toBe(0);
  });

  it('does not count what the cork holds back as a slow reader', () => {
    make();
    /** Like a real corked socket: sent bytes stay buffered until uncorked. */
    class CorkingConnection extends SimulatedConnection {
      isCorked = false;
      override cork() {
        this.isCorked = true;
        return super.cork();
      }
      override uncork() {
        this.isCorked = false;
        this.buffered = 0; // the kernel took it all
        super.uncork();
      }
      override sendFrame(f: OutboundFrame) {
        super.sendFrame(f);
        if (this.isCorked) this.buffered += f.byteLength;
      }
    }
    const c = new CorkingConnection();
    const big = (seq: number) => new OutboundFrame('asset_update', JSON.stringify({ symbol: `S${seq}`, seq, pad: 'x'.repeat(200) }), 'ts', `a:S${seq}`);
    flow.beginBurst();
    for (let seq = 1; seq <= 20; seq++) flow.deliver(c, big(seq)); // ~5 KB, far above the 1,000-byte mark
    expect(c.conflated).toBeNull();
    expect(c.sent).toHaveLength(20);
    flow.endBurst();
    expect(c.buffered).toBe(0);
    // A real backlog still conflates, inside a burst too.
    c.buffered = 1500;
    flow.beginBurst();
    flow.deliver(c, big(21));
    flow.endBurst();
    expect(c.conflated?.size).toBe(1);
  });
});
