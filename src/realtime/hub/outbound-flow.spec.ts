import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { Connection } from './connection';
import { BATCH_SLOT_MS, MAX_BATCH, OutboundFlow } from './outbound-flow';
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

  describe('batched connections: at most one frame per interval, flushed by the age of what is held', () => {
    const updates = (f: OutboundFrame) => (JSON.parse(f.dataJson) as { updates: unknown[] }).updates;
    const burst = (fn: () => void) => {
      flow.beginBurst();
      try {
        fn();
      } finally {
        flow.endBurst();
      }
    };
    afterEach(() => {
      vi.useRealTimers();
    });

    it('sends a burst at once, in one corked frame, when the last frame is an interval old', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      make();
      const c = new SimulatedConnection();
      flow.setBatch(c, 50);
      burst(() => {
        flow.deliver(c, frame('A', 1));
        flow.deliver(c, frame('B', 1));
        expect(c.sent).toEqual([]); // held until the burst is complete
      });
      expect(c.sent).toHaveLength(1);
      expect(c.sent[0].type).toBe('asset_updates');
      expect(updates(c.sent[0])).toEqual([
        { symbol: 'A', seq: 1 },
        { symbol: 'B', seq: 1 },
      ]);
      expect(c.log).toEqual(['cork', 'send:undefined', 'uncork']);
    });

    it('holds later updates until the interval since the last frame is over, then sends them in order in one frame', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      make();
      const c = new SimulatedConnection();
      flow.setBatch(c, 50);
      burst(() => flow.deliver(c, frame('A', 1)));
      vi.advanceTimersByTime(10);
      burst(() => flow.deliver(c, frame('A', 2)));
      vi.advanceTimersByTime(20);
      burst(() => {
        flow.deliver(c, frame('B', 3));
        flow.deliver(c, frame('A', 4));
      });
      expect(c.sent).toHaveLength(1);
      vi.advanceTimersByTime(19); // 49 ms after the first frame
      expect(c.sent).toHaveLength(1);
      vi.advanceTimersByTime(1 + BATCH_SLOT_MS);
      expect(c.sent).toHaveLength(2);
      expect(updates(c.sent[1])).toEqual([
        { symbol: 'A', seq: 2 },
        { symbol: 'B', seq: 3 },
        { symbol: 'A', seq: 4 },
      ]);
      // Nothing held: nothing more is sent, and the next update, an interval later, leaves at once.
      vi.advanceTimersByTime(200);
      expect(c.sent).toHaveLength(2);
      burst(() => flow.deliver(c, frame('C', 5)));
      expect(c.sent).toHaveLength(3);
    });

    it('schedules an update delivered outside a burst, and sends early once MAX_BATCH are held', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      make();
      const c = new SimulatedConnection();
      flow.setBatch(c, 1000);
      flow.deliver(c, frame('A', 1));
      expect(c.sent).toHaveLength(0);
      vi.advanceTimersByTime(BATCH_SLOT_MS);
      expect(c.sent).toHaveLength(1);
      for (let i = 0; i < MAX_BATCH; i++) flow.deliver(c, frame('A', 2 + i));
      expect(c.sent).toHaveLength(2);
      expect(updates(c.sent[1])).toHaveLength(MAX_BATCH);
      // The early frame restarts the interval; what comes next waits for it.
      flow.deliver(c, frame('A', 9_999));
      vi.advanceTimersByTime(999);
      expect(c.sent).toHaveLength(2);
      vi.advanceTimersByTime(1 + BATCH_SLOT_MS);
      expect(c.sent).toHaveLength(3);
    });

    it('keeps thousands of connections on a few timers, each one sent once per interval at most', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      make();
      const conns = Array.from({ length: 2_000 }, () => new SimulatedConnection());
      for (const c of conns) flow.setBatch(c, 50);
      for (let round = 0; round < 40; round++) {
        burst(() => {
          for (let i = 0; i < conns.length; i++) if ((i + round) % 3 === 0) flow.deliver(conns[i], frame('A', round));
        });
        expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
        vi.advanceTimersByTime(7);
      }
      vi.advanceTimersByTime(100);
      for (const c of conns) {
        const seqs = c.sent.flatMap((f) => updates(f).map((u) => (u as { seq: number }).seq));
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y)); // in order, none lost
        expect(seqs).toHaveLength(Array.from({ length: 40 }, (_, r) => r).filter((r) => (conns.indexOf(c) + r) % 3 === 0).length);
        expect(c.sent.length).toBeLessThanOrEqual(Math.ceil((40 * 7 + 100) / 50) + 1);
      }
      expect(vi.getTimerCount()).toBe(0);
    });

    it('turning batching off sends what is held at once, and a stale schedule sends nothing', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      make();
      const c = new SimulatedConnection();
      flow.setBatch(c, 50);
      burst(() => flow.deliver(c, frame('A', 1)));
      burst(() => flow.deliver(c, frame('A', 2)));
      expect(c.sent).toHaveLength(1);
      flow.setBatch(c, 0);
      expect(c.sent).toHaveLength(2);
      expect(updates(c.sent[1])).toEqual([{ symbol: 'A', seq: 2 }]);
      flow.deliver(c, frame('A', 3));
      expect(c.sent[2].type).toBe('asset_update');
      vi.advanceTimersByTime(100);
      expect(c.sent).toHaveLength(3);
    });
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
