import * as wsLib from 'ws';
import type { ServerMessageMap, ServerMessageType } from '../protocol/server-messages';

/** Socket.IO namespace and path of the realtime gateway. */
export const SOCKET_IO_NAMESPACE = '/realtime';
export const SOCKET_IO_PATH = '/socket.io';

type FrameList = Buffer[];
interface WsSender {
  frame(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): FrameList;
}
// `ws` exports its frame builder as Sender (socket.io-adapter pre-encodes broadcasts the same way); untyped in @types/ws.
const Sender = (wsLib as unknown as { Sender: WsSender }).Sender;

/** An Engine.IO message packet ready for `engineSocket.write(data, options)`. */
export interface EngineIoPacket {
  /** Socket.IO EVENT packet text, e.g. `2/realtime,["asset_update",{...}]`. */
  readonly data: string;
  /** `wsPreEncodedFrame`: the complete WebSocket frame, so Engine.IO's websocket transport skips encoding. */
  readonly options: { wsPreEncodedFrame: FrameList; compress?: boolean };
}

/**
 * One server-to-client message serialised ONCE and shared by every recipient:
 * the JSON envelope is built at construction; the raw-WebSocket payload and the
 * Socket.IO packet are derived lazily, at most once each, the first time a
 * connection of that transport needs them.
 */
export class OutboundFrame<K extends ServerMessageType = ServerMessageType> {
  /** `{"type":...,"data":...,"timestamp":...}` */
  readonly json: string;
  private ws?: Buffer;
  private io?: EngineIoPacket;

  /**
   * @param dataJson JSON.stringify(data), kept for batched frames.
   * @param topic `a:SYMBOL` / `p:ID` for updates (conflation key), null for one-off messages.
   */
  constructor(
    readonly type: K,
    readonly dataJson: string,
    timestamp: string,
    readonly topic: string | null = null,
  ) {
    this.json = `{"type":"${type}","data":${dataJson},"timestamp":"${timestamp}"}`;
  }

  static of<K extends ServerMessageType>(type: K, data: ServerMessageMap[K], topic: string | null = null, timestamp = new Date().toISOString()): OutboundFrame<K> {
    return new OutboundFrame(type, JSON.stringify(data), timestamp, topic);
  }

  /** UTF-8 bytes of the envelope for a raw WebSocket text frame. */
  wsPayload(): Buffer {
    return (this.ws ??= Buffer.from(this.json));
  }

  /** Byte length used for outbound-buffer accounting. */
  get byteLength(): number {
    return this.wsPayload().length;
  }

  /** The envelope as a Socket.IO event named after its type in the realtime namespace. */
  ioPacket(): EngineIoPacket {
    if (!this.io) {
      // socket.io-parser's encoding of {type: EVENT(2), nsp, data: [type, envelope]} without binary or ack id.
      const data = `2${SOCKET_IO_NAMESPACE},["${this.type}",${this.json}]`;
      // "4" is the Engine.IO "message" packet type.
      const frame = Sender.frame(Buffer.from('4' + data), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
      this.io = { data, options: { wsPreEncodedFrame: frame } };
    }
    return this.io;
  }
}
