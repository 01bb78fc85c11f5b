import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { fieldMessage, VALIDATION_OPTIONS } from '../../common/validation';
import { CLIENT_MESSAGE_TYPES, ClientMessage, ClientMessageType, MessageId } from '../protocol/client-messages';
import { CLIENT_MESSAGE_DTOS } from '../protocol/client-messages.dto';
import { ErrorCode } from '../protocol/error-codes';
import { ProtocolError } from './protocol-error';

/** Structural limits checked before any DTO work (hostile-input guards). */
export const MAX_DEPTH = 8;
export const MAX_STRING_LENGTH = 1024;
export const MAX_NODES = 2000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const KNOWN_TYPES = new Set<string>(CLIENT_MESSAGE_TYPES);

/**
 * A message that can be routed: JSON, within the structural limits, an object whose `type`
 * is a client message type. Its fields are not validated yet (ClientMessagePipe does that,
 * in the handler's pipeline).
 */
export interface Envelope {
  readonly type: ClientMessageType;
  /** The message's `id` when it is a valid one (echoed on the reply), else null. */
  readonly id: MessageId | null;
  /** `{type, data?, id?, timestamp?, ...}` as received (Socket.IO: `data` wrapped as `{type, data}`). */
  readonly value: Record<string, unknown>;
}

export type FrameResult = { ok: true; envelope: Envelope } | { ok: false; error: ProtocolError };
export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError };

const fail = (
  code: ErrorCode,
  message: string,
  type: string | null = null,
  id: MessageId | null = null,
  details?: string[],
): { ok: false; error: ProtocolError } => ({
  ok: false,
  error: new ProtocolError(code, message, type, id, details),
});

/**
 * Turns inbound text (raw WebSocket) or an event + payload (Socket.IO) into a typed
 * ClientMessage, or a typed ProtocolError, in two steps, one code path for both transports:
 *  - `frameText` / `frameEvent`: JSON -> structure guards -> type dispatch (INVALID_JSON,
 *    VALIDATION_FAILED for the shape, UNKNOWN_TYPE), what the adapter needs to route a message;
 *  - `validate`: the type's class-validator DTO (VALIDATION_FAILED with one line per field),
 *    run as a pipe in the handler's pipeline (ClientMessagePipe).
 * `parseText` / `parseEvent` / `parseValue` do both.
 */
export class MessageParser {
  parseText(text: string): ParseResult {
    return this.validated(this.frameText(text));
  }

  /** Socket.IO: the event name is the type; the payload is `data` or a full envelope. */
  parseEvent(event: string, args: unknown[]): ParseResult {
    return this.validated(this.frameEvent(event, args));
  }

  parseValue(value: unknown): ParseResult {
    return this.validated(this.frameValue(value));
  }

  frameText(text: string): FrameResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (err instanceof RangeError) return fail(ErrorCode.VALIDATION_FAILED, `Message nested too deeply (max depth ${MAX_DEPTH})`);
      return fail(ErrorCode.INVALID_JSON, 'Message is not valid JSON');
    }
    return this.frameValue(value);
  }

  frameEvent(event: string, args: unknown[]): FrameResult {
    const eventType = event.length > 64 ? event.slice(0, 64) : event;
    if (args.length > 1) return fail(ErrorCode.VALIDATION_FAILED, 'Send one payload argument (data or a full envelope)', eventType);
    const payload = args[0];
    const guard = this.guard(payload);
    if (guard) return { ok: false, error: new ProtocolError(guard.code, guard.message, eventType) };
    if (isPlainObject(payload) && typeof payload.type === 'string') {
      if (payload.type !== event)
        return fail(ErrorCode.VALIDATION_FAILED, `Envelope type "${payload.type.slice(0, 64)}" does not match the event name`, eventType, idOf(payload));
      return this.route(payload);
    }
    return this.route(payload === undefined ? { type: event } : { type: event, data: payload });
  }

  frameValue(value: unknown): FrameResult {
    const guard = this.guard(value);
    if (guard) return { ok: false, error: new ProtocolError(guard.code, guard.message, typeOf(value), idOf(value)) };
    return this.route(value);
  }

  /** The envelope checked against its type's DTO: the typed message (symbols normalised, ids converted), or VALIDATION_FAILED. */
  validate(envelope: Envelope): ParseResult {
    const Dto = CLIENT_MESSAGE_DTOS[envelope.type];
    const instance = plainToInstance(Dto as new () => object, envelope.value, { enableImplicitConversion: false });
    const errors = validateSync(instance, {
      whitelist: VALIDATION_OPTIONS.whitelist,
      forbidNonWhitelisted: VALIDATION_OPTIONS.forbidNonWhitelisted,
      forbidUnknownValues: VALIDATION_OPTIONS.forbidUnknownValues,
      validationError: { target: false, value: false },
    });
    if (errors.length > 0) {
      const details = flatten(errors);
      return fail(ErrorCode.VALIDATION_FAILED, details.join('; '), envelope.type, envelope.id, details);
    }
    return { ok: true, message: instance as unknown as ClientMessage };
  }

  private validated(framed: FrameResult): ParseResult {
    return framed.ok ? this.validate(framed.envelope) : framed;
  }

  private route(value: unknown): FrameResult {
    if (!isPlainObject(value)) return fail(ErrorCode.VALIDATION_FAILED, 'A message must be a JSON object {type, data}');
    const type = value.type;
    const id = idOf(value);
    if (typeof type !== 'string') return fail(ErrorCode.VALIDATION_FAILED, 'type must be a string', null, id);
    if (!KNOWN_TYPES.has(type)) {
      return fail(ErrorCode.UNKNOWN_TYPE, `Unknown message type "${type.slice(0, 64)}"; see GET /realtime/websocket-info/`, type.slice(0, 64), id);
    }
    return { ok: true, envelope: { type: type as ClientMessageType, id, value } };
  }

  /**
   * Depth, size, string length, binary and prototype-key guards, iterative so
   * that hostile nesting cannot blow the stack. Returns the first problem.
   */
  private guard(root: unknown): { code: ErrorCode; message: string } | null {
    const stack: [unknown, number][] = [[root, 1]];
    let nodes = 0;
    while (stack.length > 0) {
      const [v, depth] = stack.pop()!;
      if (++nodes > MAX_NODES) return { code: ErrorCode.VALIDATION_FAILED, message: `Message has too many values (max ${MAX_NODES})` };
      if (typeof v === 'string') {
        if (v.length > MAX_STRING_LENGTH) return { code: ErrorCode.VALIDATION_FAILED, message: `String too long (max ${MAX_STRING_LENGTH} characters)` };
        continue;
      }
      if (v === null || typeof v !== 'object') continue;
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
        return { code: ErrorCode.INVALID_JSON, message: 'Binary payloads are not accepted: send JSON' };
      }
      if (depth > MAX_DEPTH) return { code: ErrorCode.VALIDATION_FAILED, message: `Message nested too deeply (max depth ${MAX_DEPTH})` };
      if (Array.isArray(v)) {
        for (const item of v) stack.push([item, depth + 1]);
        continue;
      }
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return { code: ErrorCode.VALIDATION_FAILED, message: `Forbidden key "${key}"` };
        if (key.length > MAX_STRING_LENGTH) return { code: ErrorCode.VALIDATION_FAILED, message: 'Key too long' };
        stack.push([(v as Record<string, unknown>)[key], depth + 1]);
      }
    }
    return null;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function typeOf(v: unknown): string | null {
  if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, 'type')) return null;
  return typeof v.type === 'string' ? v.type.slice(0, 64) : null;
}

function idOf(v: unknown): MessageId | null {
  if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, 'id')) return null;
  return validId(v.id as MessageId);
}

function validId(id: unknown): MessageId | null {
  if (typeof id === 'string' && id.length > 0 && id.length <= 64) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return null;
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    // One message per field: a wrong type is not also reported as out of range.
    if (e.constraints && Object.keys(e.constraints).length > 0) out.push(`${path}: ${fieldMessage(e.constraints)}`);
    if (e.children?.length) out.push(...flatten(e.children, path));
  }
  return out.slice(0, 20);
}
