import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { fieldMessage, VALIDATION_OPTIONS } from '../../common/validation';
import { CLIENT_MESSAGE_TYPES, ClientMessage, ClientMessageType, MessageId } from '../protocol/client-messages';
import { CLIENT_MESSAGE_DTOS } from '../protocol/client-messages.dto';
import { ErrorCode } from '../protocol/error-codes';

/** Structural limits checked before any DTO work (hostile-input guards). */
export const MAX_DEPTH = 8;
export const MAX_STRING_LENGTH = 1024;
export const MAX_NODES = 2000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const KNOWN_TYPES = new Set<string>(CLIENT_MESSAGE_TYPES);

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly requestType: string | null = null,
    readonly id: MessageId | null = null,
    readonly details?: string[],
    /** Extra typed fields for the error's data (e.g. `symbols` of UNKNOWN_SYMBOL). */
    readonly extra?: { symbols?: string[] },
  ) {
    super(message);
  }
}

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError };

const fail = (code: ErrorCode, message: string, type: string | null = null, id: MessageId | null = null, details?: string[]): ParseResult => ({
  ok: false,
  error: new ProtocolError(code, message, type, id, details),
});

/**
 * Turns inbound text (raw WebSocket) or an event + payload (Socket.IO) into a
 * validated, typed ClientMessage, or a typed ProtocolError. One code path for
 * both transports: JSON -> structure guards -> type dispatch -> DTO validation.
 */
export class MessageParser {
  parseText(text: string): ParseResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (err instanceof RangeError) return fail(ErrorCode.VALIDATION_FAILED, `Message nested too deeply (max depth ${MAX_DEPTH})`);
      return fail(ErrorCode.INVALID_JSON, 'Message is not valid JSON');
    }
    return this.parseValue(value);
  }

  /** Socket.IO: the event name is the type; the payload is `data` or a full envelope. */
  parseEvent(event: string, args: unknown[]): ParseResult {
    const eventType = event.length > 64 ? event.slice(0, 64) : event;
    if (args.length > 1) return fail(ErrorCode.VALIDATION_FAILED, 'Send one payload argument (data or a full envelope)', eventType);
    const payload = args[0];
    const guard = this.guard(payload);
    if (guard) return { ok: false, error: new ProtocolError(guard.code, guard.message, eventType) };
    if (isPlainObject(payload) && typeof payload.type === 'string') {
      if (payload.type !== event) return fail(ErrorCode.VALIDATION_FAILED, `Envelope type "${payload.type.slice(0, 64)}" does not match the event name`, eventType, idOf(payload));
      return this.dispatch(payload);
    }
    return this.dispatch(payload === undefined ? { type: event } : { type: event, data: payload });
  }

  parseValue(value: unknown): ParseResult {
    const guard = this.guard(value);
    if (guard) return { ok: false, error: new ProtocolError(guard.code, guard.message, typeOf(value), idOf(value)) };
    return this.dispatch(value);
  }

  private dispatch(value: unknown): ParseResult {
    if (!isPlainObject(value)) return fail(ErrorCode.VALIDATION_FAILED, 'A message must be a JSON object {type, data}');
    const type = value.type;
    const id = idOf(value);
    if (typeof type !== 'string') return fail(ErrorCode.VALIDATION_FAILED, 'type must be a string', null, id);
    if (!KNOWN_TYPES.has(type)) {
      return fail(ErrorCode.UNKNOWN_TYPE, `Unknown message type "${type.slice(0, 64)}"; see GET /realtime/websocket-info/`, type.slice(0, 64), id);
    }
    const Dto = CLIENT_MESSAGE_DTOS[type as ClientMessageType];
    const instance = plainToInstance(Dto as new () => object, value, { enableImplicitConversion: false });
    const errors = validateSync(instance, {
      whitelist: VALIDATION_OPTIONS.whitelist,
      forbidNonWhitelisted: VALIDATION_OPTIONS.forbidNonWhitelisted,
      forbidUnknownValues: VALIDATION_OPTIONS.forbidUnknownValues,
      validationError: { target: false, value: false },
    });
    if (errors.length > 0) {
      const details = flatten(errors);
      return fail(ErrorCode.VALIDATION_FAILED, details.join('; '), type, validId(id), details);
    }
    return { ok: true, message: instance as unknown as ClientMessage };
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
