import { Injectable, PipeTransform } from '@nestjs/common';
import type { InboundRequest } from '../hub/inbound-request';
import { MessageParser } from '../hub/message-parser';
import type { ClientMessage } from '../protocol/client-messages';

const parser = new MessageParser();

/**
 * The request's message validated against its type's class-validator DTO (the service-wide
 * policy: whitelist, unknown fields refused, one message per field), once per request: the
 * pipe and a guard that needs the typed message before the pipes run share the result.
 * Throws VALIDATION_FAILED with `details`, `request_type` and `id`.
 */
export function validateRequest(req: InboundRequest): ClientMessage {
  if (!req.envelope) throw new Error(`No message to validate for ${req.type ?? 'a request'}`);
  const result = (req.validation ??= parser.validate(req.envelope));
  if (!result.ok) throw result.error;
  return result.message;
}

/** The existing parser's validation step run as a pipe: InboundRequest in, the typed ClientMessage out. */
@Injectable()
export class ClientMessagePipe implements PipeTransform<InboundRequest, ClientMessage> {
  transform(req: InboundRequest): ClientMessage {
    return validateRequest(req);
  }
}
