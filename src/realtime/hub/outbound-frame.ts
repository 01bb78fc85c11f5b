import type { ServerMessageMap, ServerMessageType } from '../protocol/server-messages';

/**
 * A transport's own wire form of frames (an Engine.IO packet, say), built at most once per
 * frame and then shared by every recipient on that transport (see OutboundFrame.encoded).
 * Declared by the transports; the hub only keeps the slot.
 */
export class FrameEncoding<T> {
  private static slots = 0;
  /** Index of this encoding's cache slot on every frame. */
  readonly slot = FrameEncoding.slots++;

  constructor(
    readonly name: string,
    readonly encode: (frame: OutboundFrame) => T,
  ) {}
}

/**
 * One server-to-client message serialised ONCE and shared by every recipient:
 * the JSON envelope is built at construction, its UTF-8 bytes (the raw payload, and
 * what outbound-buffer accounting counts) at most once, and each transport's wire
 * encoding at most once, the first time a connection of that transport needs it.
 * No transport knowledge here: the encodings are declared in transports/.
 */
export class OutboundFrame<K extends ServerMessageType = ServerMessageType> {
  /** `{"type":...,"data":...,"timestamp":...}` */
  readonly json: string;
  private utf8?: Buffer;
  /** Wire encodings by FrameEncoding slot (allocated when a transport first asks). */
  private wire?: unknown[];

  /**
   * @param dataJson JSON.stringify(data), kept for batched frames.
   * @param topic `a:SYMBOL` / `p:ID` for updates (conflation key), null for one-off messages.
   * @param seq the update's `seq` for asset updates (the SSE transport's event id), else 0.
   */
  constructor(
    readonly type: K,
    readonly dataJson: string,
    timestamp: string,
    readonly topic: string | null = null,
    readonly seq = 0,
  ) {
    this.json = `{"type":"${type}","data":${dataJson},"timestamp":"${timestamp}"}`;
  }

  static of<K extends ServerMessageType>(
    type: K,
    data: ServerMessageMap[K],
    topic: string | null = null,
    timestamp = new Date().toISOString(),
  ): OutboundFrame<K> {
    return new OutboundFrame(type, JSON.stringify(data), timestamp, topic);
  }

  /** The envelope's UTF-8 bytes. */
  bytes(): Buffer {
    return (this.utf8 ??= Buffer.from(this.json));
  }

  /** Byte length used for outbound-buffer accounting. */
  get byteLength(): number {
    return this.bytes().length;
  }

  /** This frame in `encoding`'s wire form, built on first use and kept. */
  encoded<T>(encoding: FrameEncoding<T>): T {
    const wire = (this.wire ??= []);
    let v = wire[encoding.slot] as T | undefined;
    if (v === undefined) wire[encoding.slot] = v = encoding.encode(this);
    return v;
  }
}
