import { Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { OutboundFrame } from '../hub/outbound-frame';
import { ioPacket, SOCKET_IO_NAMESPACE, wsPayload } from './wire-frames';

describe('wire frames', () => {
  const data = { symbol: 'AAPL', price: 150.25, change: 2.5, note: 'quote "x" \u2028 é' };

  it('derives the WebSocket payload once and shares it', () => {
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    const a = wsPayload(f);
    expect(a.toString()).toBe(f.json);
    expect(wsPayload(f)).toBe(a);
    expect(f.byteLength).toBe(Buffer.byteLength(f.json));
  });

  it('pre-encodes exactly what socket.io-parser would send for the event', () => {
    const f = new OutboundFrame('asset_update', JSON.stringify(data), 'ts', 'a:AAPL');
    const [expected] = new Encoder().encode({ type: PacketType.EVENT, nsp: SOCKET_IO_NAMESPACE, data: ['asset_update', JSON.parse(f.json)] });
    const packet = ioPacket(f);
    expect(packet.data).toBe(expected);
    expect(ioPacket(f)).toBe(packet);
    // The pre-built WebSocket frame carries the Engine.IO message "4" + packet, unmasked, as one text frame.
    const [header, payload] = packet.options.wsPreEncodedFrame;
    expect(payload.toString()).toBe(`4${expected}`);
    expect(header[0]).toBe(0x81);
  });
});
