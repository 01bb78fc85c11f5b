import * as wsLib from 'ws';
import { FrameEncoding, OutboundFrame } from '../hub/outbound-frame';

/** The raw WebSocket endpoint (with and without the trailing slash). */
export const RAW_WS_PATHS: ReadonlySet<string> = new Set(['/ws/realtime/', '/ws/realtime']);
/** Socket.IO namespace and path of the realtime endpoint. */
export const SOCKET_IO_NAMESPACE = '/realtime';
export const SOCKET_IO_PATH = '/socket.io';
/** The Server-Sent Events fallback: the stream, and where each stream's client messages are POSTed. */
export const SSE_PATH = '/realtime/sse';
export const SSE_MESSAGES_PATH = '/realtime/sse/{connection_id}/messages';

type FrameList = Buffer[];
interface WsSender {
  frame(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): FrameList;
}
// `ws` exports its frame builder as Sender (socket.io-adapter pre-encodes broadcasts the same way); untyped in @types/ws.
const Sender = (wsLib as unknown as { Sender: WsSender }).Sender;

/** An Engine.IO message packet ready for `engineSocket.write(data, options)`. */
interface EngineIoPacket {
  /** Socket.IO EVENT packet text, e.g. `2/realtime,["asset_update",{...}]`. */
  readonly data: string;
  /** `wsPreEncodedFrame`: the complete WebSocket frame, so Engine.IO's websocket transport skips encoding. */
  readonly options: { wsPreEncodedFrame: FrameList; compress?: boolean };
}

/** The raw WebSocket text payload of a frame: its envelope's UTF-8 bytes. */
export function wsPayload(frame: OutboundFrame): Buffer {
  return frame.bytes();
}

/** The envelope as a Socket.IO event named after its type in the realtime namespace, encoded once per frame. */
const ENGINE_IO_PACKET = new FrameEncoding<EngineIoPacket>('engine.io', (frame) => {
  // socket.io-parser's encoding of {type: EVENT(2), nsp, data: [type, envelope]} without binary or ack id.
  const data = `2${SOCKET_IO_NAMESPACE},["${frame.type}",${frame.json}]`;
  // "4" is the Engine.IO "message" packet type.
  const wsFrame = Sender.frame(Buffer.from('4' + data), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
  return { data, options: { wsPreEncodedFrame: wsFrame } };
});

export function ioPacket(frame: OutboundFrame): EngineIoPacket {
  return frame.encoded(ENGINE_IO_PACKET);
}
