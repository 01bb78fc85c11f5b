import { BusHandler, BusMessages, BusTopic } from './bus.messages';

/**
 * Publish/subscribe between the parts of one process and, with Redis, between
 * processes and server instances. Delivery is asynchronous and at-most-once;
 * a publisher also receives its own messages (one code path for one or many instances).
 */
export abstract class MessageBus {
  abstract readonly kind: 'memory' | 'redis';
  abstract publish<K extends BusTopic>(topic: K, message: BusMessages[K]): Promise<void>;
  /** Returns an unsubscribe function. */
  abstract subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void;
  /**
   * Resolves once subscriptions are active on the transport (Redis SUBSCRIBE acknowledged);
   * bounded: rejects after `timeoutMs` (default 10 s) when they are not (Redis unreachable).
   * Nothing at start-up waits for it: the service starts without Redis and subscribes when it appears.
   */
  abstract ready(timeoutMs?: number): Promise<void>;
}
