import { Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { OutboundFrame, SOCKET_IO_NAMESPACE } from './outbound-frame';

describe('OutboundFrame', () => {
  const data = { symbol: 'AAPL', price: 150.25, change: 2.5, note: 'quote "x" \u2028 é' };

  it('builds the {type, data, timestamp} envelope once', () => {
    const f = OutboundFrame.of('pong', { server_time: 'now' }, null, '2024-01-15T10:30:00.000Z');
    expect(JSON.parse(f.json)).toEqual({ type: 'pong', data: { server_time: 'now' }, timestamp: '2024-01-15T10:30:00.000Z' });
  });

  it('derives the WebSocket payload once and shares it', () => {
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    const a = f.wsPayload();
    expect(a.toString()).toBe(f.json);
    expect(f.wsPayload()).toBe(a);
    expect(f.byteLength).toBe(Buffer.byteLength(f.json));
  });

  it('pre-encodes exactly what socket.io-parser would send for the event', () => {
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    const [expected] = new Encoder().encode({ type: PacketType.EVENT, nsp: SOCKET_IO_NAMESPACE, data: ['asset_update', JSON.parse(f.json)] });
    const packet = f.ioPacket();
    expect(packet.data).toBe(expected);
    expect(f.ioPacket()).toBe(packet);
    // The pre-built WebSocket frame carries the Engine.IO message "4" + packet, unmasked, as one text frame.
    const [header, payload] = packet.options.wsPreEncodedFrame;
    expect(payload.toString()).toBe(`4${expected}`);
    expect(header[0]).toBe(0x81);
  });
});
