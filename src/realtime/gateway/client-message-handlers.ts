import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Connection } from '../hub/connection';
import type { InboundRequest } from '../hub/inbound-request';
import type { Reply } from '../hub/reply';
import type { ClientMessageOf, ClientMessageType, ClientReplyMap } from '../protocol/client-messages';
import { ClientMessagePipe } from './client-message.pipe';

/** `subscribe_asset` -> `subscribeAsset`: the gateway method that handles a message type. */
type HandlerName<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<HandlerName<Tail>>}` : S;

/** The reply a handler of `K` produces: at once, after the database (a promise), or followed by a snapshot (an observable). */
type HandlerResult<K extends ClientMessageType> =
  Reply<ClientReplyMap[K]> | Observable<Reply<ClientReplyMap[K]>> | Promise<Reply<ClientReplyMap[K]> | Observable<Reply<ClientReplyMap[K]>> | undefined>;

/**
 * The typed handler map: one gateway method per client message type (ClientMessageMap, in
 * protocol/client-messages.ts), named by HandlerName, taking that type's validated message
 * and answering with that type's reply (ClientReplyMap). `RealtimeGateway implements` it, so
 * a missing, misnamed or mistyped handler does not compile.
 */
export type ClientMessageHandlers = {
  [K in ClientMessageType as HandlerName<K>]: (msg: ClientMessageOf<K>, conn: Connection, req: InboundRequest) => HandlerResult<K>;
};

/**
 * `@SubscribeMessage(type)` for a client message type, on the method HandlerName<type> only
 * (checked at compile time: `@OnClientMessage('ping')` on anything but `ping()` does not compile).
 */
export function OnClientMessage<K extends ClientMessageType>(type: K) {
  return (target: object, key: HandlerName<K>, descriptor: PropertyDescriptor): void => {
    SubscribeMessage(type)(target, key, descriptor);
  };
}

/**
 * The message, validated against its type's DTO by ClientMessagePipe (VALIDATION_FAILED otherwise).
 * Type the parameter `ClientMessageOf<'...'>` (a type, not a class): the app's global REST
 * ValidationPipe then leaves the value to this pipe.
 */
export const ClientMessageBody = (): ParameterDecorator => MessageBody(new ClientMessagePipe());

/**
 * The connection the message came on (the gateway's client). Custom parameters rather than
 * `@ConnectedSocket()`: the app's global REST ValidationPipe runs on every parameter whose
 * declared type is a class, except custom ones.
 */
export const WsConnection = createParamDecorator((_data: unknown, ctx: ExecutionContext): Connection => ctx.switchToWs().getClient<Connection>());

/** The request (type, id, acknowledgement, lane ticket) of the message being handled. */
export const WsRequest = createParamDecorator((_data: unknown, ctx: ExecutionContext): InboundRequest => ctx.switchToWs().getData<InboundRequest>());
