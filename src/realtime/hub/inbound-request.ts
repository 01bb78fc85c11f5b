import type { MessageId } from '../protocol/client-messages';
import type { AckFn, ReplyTarget } from './connection';
import type { InboundItem } from './inbound-queue';
import type { Envelope, ParseResult } from './message-parser';
import type { LaneTicket } from './request-lane';

/**
 * One client message on its way through the gateway: what its reply or error needs
 * (`type` and `id` to echo, the Socket.IO acknowledgement), the message itself, and,
 * for a request that waits on the database, its place in the connection's lane.
 * Created by the adapter for every message; it is the `data` of the handler's
 * execution context (`host.switchToWs().getData()`), so the guard, the pipe and the
 * exception filter all see the same request. One writer per part:
 *  - `type`, `id`, `envelope`: the adapter, when it has read the message;
 *  - `validation`: `validateRequest` (ClientMessagePipe, or a guard that needs the typed message first);
 *  - `ticket`: RequestLane.
 */
export class InboundRequest implements ReplyTarget {
  /** The message's type: the Socket.IO event name until the message is read, null for a raw frame not read yet. */
  type: string | null;
  id: MessageId | null = null;
  /** The routable message, before validation (null if it could not be read). */
  envelope: Envelope | null = null;
  /** Its validation against its type's DTO, run once. */
  validation: ParseResult | null = null;
  /** Its place in the connection's database lane (RequestLane.enter). */
  ticket: LaneTicket | null = null;
  readonly receivedAt = Date.now();

  constructor(
    type: string | null,
    readonly ack?: AckFn,
  ) {
    this.type = type;
  }

  static of(item: InboundItem): InboundRequest {
    return item.kind === 'event' ? new InboundRequest(item.event.slice(0, 64), item.ack) : new InboundRequest(null);
  }

  /** The message was read and routed: replies echo its type and id from now on. */
  read(envelope: Envelope): void {
    this.envelope = envelope;
    this.type = envelope.type;
    this.id = envelope.id;
  }

  /** Passed validation (a valid message, whatever comes of it). */
  get valid(): boolean {
    return this.validation?.ok === true;
  }
}
