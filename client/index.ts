/** The project's typed realtime client (browser and Node) and the REST API's response types. See docs/web.md. */
export { DEFAULT_BACKOFF, backoffDelay, baseDelay, resolveBackoff, type BackoffOptions } from './backoff';
export {
  RealtimeClient,
  RealtimeError,
  normaliseSymbol,
  type ConnectionState,
  type Frame,
  type RealtimeClientOptions,
  type StateChange,
} from './realtime-client';
export type * from './api-types';
export { applyPositions } from './portfolio-positions';
export type * from './protocol';
export { socketIoTransport, type SocketIoTransportOptions } from './socketio.transport';
export {
  sseStreamUrl,
  sseTransport,
  type EventSourceFactory,
  type EventSourceLike,
  type FetchLike,
  type SseSelection,
  type SseTransportOptions,
} from './sse.transport';
export type { Transport, TransportCloseInfo, TransportEvents, TransportFactory, TransportKind } from './transport';
export { webSocketTransport, type WebSocketFactory, type WebSocketLike } from './websocket.transport';
