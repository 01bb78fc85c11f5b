import { WsException } from '@nestjs/websockets';
import type { MessageId } from '../protocol/client-messages';
import { ErrorCode } from '../protocol/error-codes';

/** Typed fields an error reply may add to its `data` (see ErrorData). */
interface ProtocolErrorExtra {
  /** UNKNOWN_SYMBOL: the symbols that are not in the catalog. */
  symbols?: string[];
  /** RATE_LIMITED: seconds to wait. */
  retry_after?: number;
}

/**
 * A request refused with one of the protocol's error codes. Thrown by the parser, the
 * validation pipe, the guards and the handlers; RealtimeExceptionFilter turns it into the
 * `error` reply (or the failed Socket.IO acknowledgement) exactly as documented.
 */
export class ProtocolError extends WsException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The failed message's type, when the thrower knows it better than the request does. */
    readonly requestType: string | null = null,
    readonly id: MessageId | null = null,
    /** VALIDATION_FAILED: one line per failed field. */
    readonly details?: string[],
    readonly extra?: ProtocolErrorExtra,
  ) {
    super(message);
  }
}

/** The codes that count toward WS_MAX_PROTOCOL_ERRORS: the message itself is malformed. */
export const PROTOCOL_ERROR_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCode.INVALID_JSON, ErrorCode.VALIDATION_FAILED, ErrorCode.UNKNOWN_TYPE]);
