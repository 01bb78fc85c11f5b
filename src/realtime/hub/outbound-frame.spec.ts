import { describe, expect, it } from 'vitest';
import { FrameEncoding, OutboundFrame } from './outbound-frame';

describe('OutboundFrame', () => {
  const data = { symbol: 'AAPL', price: 150.25, change: 2.5, note: 'quote "x" \u2028 é' };

  it('builds the {type, data, timestamp} envelope once', () => {
    const f = OutboundFrame.of('pong', { last_seq: { assets: {}, portfolios: {} }, server_time: 'now' }, null, '2024-01-15T10:30:00.000Z');
    expect(JSON.parse(f.json)).toEqual({
      type: 'pong',
      data: { last_seq: { assets: {}, portfolios: {} }, server_time: 'now' },
      timestamp: '2024-01-15T10:30:00.000Z',
    });
  });

  it('derives the UTF-8 bytes once and shares them', () => {
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    const a = f.bytes();
    expect(a.toString()).toBe(f.json);
    expect(f.bytes()).toBe(a);
    expect(f.byteLength).toBe(Buffer.byteLength(f.json));
  });

  it('builds each transport encoding at most once per frame, in its own slot', () => {
    let calls = 0;
    const upper = new FrameEncoding('upper', (frame) => (calls++, frame.json.toUpperCase()));
    const length = new FrameEncoding('length', (frame) => frame.json.length);
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    expect(f.encoded(upper)).toBe(f.json.toUpperCase());
    expect(f.encoded(upper)).toBe(f.json.toUpperCase());
    expect(f.encoded(length)).toBe(f.json.length);
    expect(calls).toBe(1);
  });
});
