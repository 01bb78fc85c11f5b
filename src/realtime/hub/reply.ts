import { Observable } from 'rxjs';
import type { ServerMessageMap, ServerMessageType } from '../protocol/server-messages';

/**
 * What a gateway handler returns: the reply to its request, as the adapter sends it
 * (`{type, data, timestamp, id}` as a frame or an event, or `{ok: true, type, ...data}`
 * to a Socket.IO acknowledgement).
 */
export interface Reply<K extends ServerMessageType = ServerMessageType> {
  readonly type: K;
  readonly data: ServerMessageMap[K];
}

export function reply<K extends ServerMessageType>(type: K, data: ServerMessageMap[K]): Reply<K> {
  return { type, data };
}

/**
 * A reply, then `after` (the snapshot that follows a `subscribed`): the reply is sent first,
 * and the request counts as done (its lane moves on) once `after` has settled. Nest sends
 * each value of a handler's observable as it comes; this one has one value.
 */
export function replyThen<K extends ServerMessageType>(first: Reply<K>, after: () => Promise<unknown>): Observable<Reply<K>> {
  return new Observable<Reply<K>>((out) => {
    out.next(first);
    after().then(
      () => out.complete(),
      (err: unknown) => out.error(err),
    );
  });
}
