/**
 * The AsyncAPI 3.0.0 document of the realtime protocol, for its transports
 * (raw WebSocket /ws/realtime/, the Socket.IO namespace /realtime, and the
 * Server-Sent Events fallback /realtime/sse with its POSTed messages), built
 * from what the server itself uses: the message type lists, their one-line
 * descriptions, the reply map, the error codes and the JSON schemas checked at
 * compile time against the protocol types (protocol/message-schemas.ts).
 * Served by RealtimeDocsController at GET /realtime/asyncapi.json.
 */
import { SESSION_COOKIE } from '../auth/session.service';
import { CLIENT_MESSAGE_TYPES, ClientMessageType, ClientReplyMap } from './protocol/client-messages';
import { BATCH_MS_MAX, BATCH_MS_MIN } from './protocol/client-messages.dto';
import { CloseCode, DISCONNECT_CODES, ERROR_CODES, RefusalCode } from './protocol/error-codes';
import { CLIENT_MESSAGE_EXAMPLES, SERVER_MESSAGE_EXAMPLES } from './protocol/message-examples';
import {
  CLIENT_MESSAGE_DESCRIPTIONS,
  DISCONNECT_CODE_DESCRIPTIONS,
  ERROR_CODE_DESCRIPTIONS,
  SERVER_MESSAGE_DESCRIPTIONS,
} from './protocol/message-descriptions';
import { clientEnvelopeSchema, serverEnvelopeSchema } from './protocol/message-schemas';
import { SERVER_MESSAGE_TYPES, ServerLimits, ServerMessageType } from './protocol/server-messages';
import { SOCKET_IO_NAMESPACE, SOCKET_IO_PATH, SSE_MESSAGES_PATH, SSE_PATH } from './transports/wire-frames';

export const ASYNCAPI_VERSION = '3.0.0';
export const RAW_WS_ADDRESS = '/ws/realtime/';

/** Where the document is looked at from (host and TLS as the request saw them) and what this server is set to. */
export interface AsyncApiContext {
  /** host[:port] the client used. */
  host: string;
  secure: boolean;
  version: string;
  limits: ServerLimits;
  heartbeatInterval: number;
  connectionTimeout: number;
}

type Transport = 'websocket' | 'socketio';
const TRANSPORTS: readonly Transport[] = ['websocket', 'socketio'];
/** The reply to each client message (`error` may answer any). */
const CLIENT_REPLIES: ClientReplyMap = {
  ping: 'pong',
  subscribe_asset: 'subscribed',
  unsubscribe_asset: 'unsubscribed',
  subscribe_portfolio: 'subscribed',
  unsubscribe_portfolio: 'unsubscribed',
  list_subscriptions: 'subscriptions',
  set_options: 'options',
};
/** Server messages that answer a client message (the others are pushed: connection, updates, server-side unsubscribes). */
const REPLY_TYPES = new Set<ServerMessageType>(Object.values(CLIENT_REPLIES));
/** Messages about portfolios: they need the session cookie (ownership checked). */
const NEEDS_SESSION = new Set<string>(['subscribe_portfolio', 'unsubscribe_portfolio', 'portfolio_update', 'portfolio_series', 'portfolio_point']);

const SNAPSHOTS: Partial<Record<ClientMessageType, string>> = {
  subscribe_asset:
    ' After `subscribed`, one `asset_update` snapshot per added symbol (the latest known price), then a `status` per market for the added symbols whose market is closed.',
  subscribe_portfolio:
    ' After `subscribed`, a `portfolio_update` snapshot; with `series`, then one `portfolio_series` (the intraday value series) and a `portfolio_point` for each point recorded while subscribed.',
};

const ref = (path: string) => ({ $ref: path });
const channelMessage = (t: Transport | 'sse' | 'sse_messages', type: string) => ref(`#/channels/${t}/messages/${type}`);

function errorCodeTable(): string {
  return [
    '| code | when |',
    '|---|---|',
    ...ERROR_CODES.map((c) => `| \`${c}\` | ${ERROR_CODE_DESCRIPTIONS[c]} |`),
    ...DISCONNECT_CODES.map((c) => `| \`${c}\` | ${DISCONNECT_CODE_DESCRIPTIONS[c]} |`),
  ].join('\n');
}

function limitsText(ctx: AsyncApiContext): string {
  const l = ctx.limits;
  return [
    `Limits on this server: ${l.max_subscriptions_per_connection} subscriptions per connection, ${l.max_connections_per_user} connections per user (both transports),`,
    `${l.rate_limit_per_second} messages/s (burst ${l.rate_burst}), frames up to ${l.max_payload_bytes} bytes, ${l.max_protocol_errors_per_minute} invalid messages a minute,`,
    `${l.idle_timeout ? `idle connections closed after ${l.idle_timeout} s` : 'no idle timeout'}; heartbeat every ${ctx.heartbeatInterval} s, dropped after ${ctx.connectionTimeout} s of silence.`,
  ].join(' ');
}

/** The AsyncAPI document (a plain JSON object). */
export function buildAsyncApiDocument(ctx: AsyncApiContext): Record<string, unknown> {
  const wsProtocol = ctx.secure ? 'wss' : 'ws';
  const closeCodes = Object.entries(CloseCode)
    .map(([name, code]) => `${code} ${name}`)
    .join(', ');

  const messages: Record<string, unknown> = {};
  for (const type of CLIENT_MESSAGE_TYPES) {
    messages[type] = {
      name: type,
      title: type,
      summary: CLIENT_MESSAGE_DESCRIPTIONS[type],
      description:
        `Client → server. Answered by \`${CLIENT_REPLIES[type]}\` (or \`error\`).${SNAPSHOTS[type] ?? ''}` +
        ' On Socket.IO the event name is the type and the payload is this envelope or just its `data`; with an acknowledgement callback the reply goes to the callback (`{ok: true, type, ...data}` or `{ok: false, error}`).',
      contentType: 'application/json',
      payload: clientEnvelopeSchema(type),
      examples: [{ name: type, payload: CLIENT_MESSAGE_EXAMPLES[type] }],
    };
  }
  for (const type of SERVER_MESSAGE_TYPES) {
    let description = `Server → client${REPLY_TYPES.has(type) ? ' (a reply: `id` echoes the request’s)' : ''}. On Socket.IO: an event named \`${type}\` whose payload is this envelope.`;
    if (type === 'connection') description = 'Server → client: the first message on every connection (both transports), before any other.';
    if (type === 'error')
      description += `\n\nThe connection stays usable after an error (except the WS_MAX_PROTOCOL_ERRORS-th protocol error in a minute, then close 1008).\n\n${errorCodeTable()}`;
    messages[type] = {
      name: type,
      title: type,
      summary: SERVER_MESSAGE_DESCRIPTIONS[type],
      description,
      contentType: 'application/json',
      payload: serverEnvelopeSchema(type),
      examples: [{ name: type, payload: SERVER_MESSAGE_EXAMPLES[type] }],
    };
  }

  const allTypes = [...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES];
  const channelMessages = Object.fromEntries(allTypes.map((type) => [type, ref(`#/components/messages/${type}`)]));
  const channels = {
    websocket: {
      address: RAW_WS_ADDRESS,
      title: 'Raw WebSocket',
      description: [
        `One JSON text frame per message, \`{type, data, timestamp}\` from the server and \`{type, data, id?}\` from the client. Also \`/ws/realtime\` (no trailing slash).`,
        `Optional \`?batch=50ms\` (0 or ${BATCH_MS_MIN}-${BATCH_MS_MAX}) asks for batched \`asset_updates\` frames from the start.`,
        `The server sends WebSocket ping frames every heartbeat. Close codes: ${closeCodes}.`,
        `Refusals before the upgrade are HTTP responses with a JSON body: 403 \`${RefusalCode.FORBIDDEN_ORIGIN}\`, 400 invalid \`batch\`, 503 \`${RefusalCode.SERVICE_UNAVAILABLE}\`; over the per-user limit: close 1008 \`${RefusalCode.CONNECTION_LIMIT}: ...\`.`,
        limitsText(ctx),
      ].join('\n\n'),
      servers: [ref('#/servers/websocket')],
      messages: channelMessages,
      bindings: {
        ws: {
          method: 'GET',
          query: {
            type: 'object',
            properties: {
              batch: {
                type: 'string',
                pattern: '^(0|off|\\d{1,4}(ms)?)$',
                description: `Batched asset_updates frames: 0/off, or ${BATCH_MS_MIN}-${BATCH_MS_MAX} ms`,
              },
            },
          },
        },
      },
    },
    socketio: {
      address: SOCKET_IO_NAMESPACE,
      title: `Socket.IO namespace ${SOCKET_IO_NAMESPACE}`,
      description: [
        `Socket.IO 4, namespace \`${SOCKET_IO_NAMESPACE}\`, path \`${SOCKET_IO_PATH}\` (e.g. \`io('${ctx.secure ? 'https' : 'http'}://${ctx.host}${SOCKET_IO_NAMESPACE}', {withCredentials: true})\`).`,
        'Every message is an event named after its `type`: server events carry the full envelope; client events carry `data` or the full envelope (whose `type` must equal the event name), at most one payload argument plus an optional acknowledgement callback.',
        `Handshake refusals arrive as \`connect_error\` with \`err.data.code\`: ${Object.values(RefusalCode).join(', ')}. Where the raw WebSocket closes with a code, Socket.IO disconnects the socket; before an \`IDLE_TIMEOUT\` or \`PROTOCOL_ERRORS\` disconnect an \`error\` event carries that word as \`data.code\`.`,
        limitsText(ctx),
      ].join('\n\n'),
      servers: [ref('#/servers/socketio')],
      messages: channelMessages,
    },
    sse: {
      address: SSE_PATH,
      title: 'Server-Sent Events stream (fallback)',
      description: [
        `For clients behind proxies that refuse WebSocket: \`GET ${SSE_PATH}?symbols=AAPL,MSFT&portfolios=3\` (both optional comma lists) answers \`text/event-stream\`, first \`retry: 3000\`, then one event per server message: \`event: <type>\` and \`data: <the envelope JSON, as the raw WebSocket sends it>\`.`,
        'First `connection` (with `sse_token`, the secret of POSTed messages), then one `subscribed` for the query’s topics, their snapshots, then live updates; a `: keep-alive` comment every heartbeat.',
        'Every `asset_update` (and batched `asset_updates`) carries `id: AAPL:123,MSFT:456`, the last seq sent per symbol on the stream: a reconnect with it as `Last-Event-ID` (or `?last_event_id=`) resumes those symbols like a `subscribe_asset` with `since` (`subscribed.recovered`).',
        'Refusals are HTTP errors before the stream starts: 400 invalid query or unknown symbols, 401 portfolios without a session, 403 origin, 404 a portfolio that is not yours, 429 over the per-user limit, 503. Named events: listen with `addEventListener(type)`; a server `error` event is a MessageEvent with `data` (the connection’s own error event has none).',
        limitsText(ctx),
      ].join('\n\n'),
      servers: [ref('#/servers/sse')],
      messages: Object.fromEntries(SERVER_MESSAGE_TYPES.map((type) => [type, ref(`#/components/messages/${type}`)])),
    },
    sse_messages: {
      address: SSE_MESSAGES_PATH,
      title: 'Client messages of an SSE stream',
      description:
        'One client envelope per `POST`, body as `text/plain` or `application/json`, header `X-SSE-Token: <sse_token>`; validated exactly like a WebSocket frame. Answers 202 (queued); the reply or error comes on the stream with the same `id`. 403 wrong token, 404 no such stream on this instance (open a new stream), 413 larger than the payload limit.',
      parameters: { connection_id: { description: 'The `connection_id` of the stream’s `connection` event' } },
      servers: [ref('#/servers/sse')],
      messages: Object.fromEntries(CLIENT_MESSAGE_TYPES.map((type) => [type, ref(`#/components/messages/${type}`)])),
    },
  };

  const operations: Record<string, unknown> = {};
  for (const t of TRANSPORTS) {
    const channel = ref(`#/channels/${t}`);
    for (const type of CLIENT_MESSAGE_TYPES) {
      operations[`${t}_receive_${type}`] = {
        action: 'receive',
        channel,
        title: `${type} (${t})`,
        summary: CLIENT_MESSAGE_DESCRIPTIONS[type],
        messages: [channelMessage(t, type)],
        reply: { channel, messages: [channelMessage(t, CLIENT_REPLIES[type]), channelMessage(t, 'error')] },
        ...(NEEDS_SESSION.has(type) ? { security: [ref('#/components/securitySchemes/session')] } : {}),
      };
    }
    for (const type of SERVER_MESSAGE_TYPES) {
      operations[`${t}_send_${type}`] = {
        action: 'send',
        channel,
        title: `${type} (${t})`,
        summary: SERVER_MESSAGE_DESCRIPTIONS[type],
        messages: [channelMessage(t, type)],
        ...(NEEDS_SESSION.has(type) ? { security: [ref('#/components/securitySchemes/session')] } : {}),
      };
    }
  }

  const sseChannel = ref('#/channels/sse');
  for (const type of CLIENT_MESSAGE_TYPES) {
    operations[`sse_receive_${type}`] = {
      action: 'receive',
      channel: ref('#/channels/sse_messages'),
      title: `${type} (sse)`,
      summary: CLIENT_MESSAGE_DESCRIPTIONS[type],
      messages: [channelMessage('sse_messages', type)],
      reply: { channel: sseChannel, messages: [channelMessage('sse', CLIENT_REPLIES[type]), channelMessage('sse', 'error')] },
      security: [ref('#/components/securitySchemes/sseToken')],
    };
  }
  for (const type of SERVER_MESSAGE_TYPES) {
    operations[`sse_send_${type}`] = {
      action: 'send',
      channel: sseChannel,
      title: `${type} (sse)`,
      summary: SERVER_MESSAGE_DESCRIPTIONS[type],
      messages: [channelMessage('sse', type)],
      ...(NEEDS_SESSION.has(type) ? { security: [ref('#/components/securitySchemes/session')] } : {}),
    };
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    id: 'urn:realtime-markets:realtime',
    info: {
      title: 'Realtime Markets realtime protocol',
      version: ctx.version,
      description: [
        'Live prices and portfolio values over transports that share one hub and one typed JSON protocol: a raw WebSocket, a Socket.IO namespace, and a Server-Sent Events fallback (a stream, with client messages POSTed) for networks that refuse WebSocket.',
        `Asset subscriptions are open to anyone; portfolio subscriptions need the session cookie \`${SESSION_COOKIE}\` from \`POST /auth/login\` on the handshake, and ownership (someone else’s portfolio answers \`NOT_FOUND\`, like a missing one).`,
        'Replies may come in another order than the requests (a subscribe waiting on the database holds up nothing): match them by `id`.',
        'Generated from the server’s message map (src/realtime/protocol/). Prose reference: docs/protocol.md; the REST API: /api/docs (OpenAPI at /api/docs-json).',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      websocket: {
        host: ctx.host,
        protocol: wsProtocol,
        pathname: RAW_WS_ADDRESS,
        title: 'Raw WebSocket',
        description: 'The specification guide’s JSON protocol over a plain WebSocket.',
      },
      socketio: {
        host: ctx.host,
        protocol: wsProtocol,
        pathname: SOCKET_IO_PATH,
        title: 'Socket.IO',
        description: `Socket.IO 4 (Engine.IO: HTTP long-polling upgraded to WebSocket) at path ${SOCKET_IO_PATH}; the protocol lives in the namespace ${SOCKET_IO_NAMESPACE}.`,
      },
      sse: {
        host: ctx.host,
        protocol: ctx.secure ? 'https' : 'http',
        pathname: SSE_PATH,
        title: 'Server-Sent Events (fallback)',
        description: `Plain HTTP: a text/event-stream at ${SSE_PATH} (server → client) and POST ${SSE_MESSAGES_PATH} (client → server).`,
      },
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        session: {
          type: 'httpApiKey',
          name: SESSION_COOKIE,
          in: 'cookie',
          description: 'The REST session cookie (POST /auth/login), sent with the WebSocket upgrade, the Socket.IO handshake or the SSE stream request.',
        },
        sseToken: {
          type: 'httpApiKey',
          name: 'X-SSE-Token',
          in: 'header',
          description: 'The `sse_token` of an SSE stream’s `connection` event: authorises the messages POSTed for that stream.',
        },
      },
    },
  };
}
