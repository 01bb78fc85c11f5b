import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { BusHandler, BusMessages, BusTopic } from './bus.messages';
import { MessageBus } from './message-bus';

@Injectable()
export class InProcessBus extends MessageBus {
  readonly kind = 'memory' as const;
  private readonly logger = new Logger('Bus');
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    super();
    this.emitter.setMaxListeners(0);
  }

  async publish<K extends BusTopic>(topic: K, message: BusMessages[K]): Promise<void> {
    // Deliver on a later tick, as a network bus would, so publishers never run subscriber code inline.
    setImmediate(() => {
      for (const listener of this.emitter.listeners(topic)) {
        try {
          (listener as BusHandler<K>)(message);
        } catch (err) {
          this.logger.error(`Handler for ${topic} failed: ${(err as Error).stack ?? err}`);
        }
      }
    });
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void {
    this.emitter.on(topic, handler);
    return () => this.emitter.off(topic, handler);
  }

  async ready(): Promise<void> {}
}
