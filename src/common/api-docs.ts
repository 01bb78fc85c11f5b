import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { SESSION_COOKIE } from '../auth/session.service';
import { ErrorResponseDto } from './error-response.dto';
import { DATABASE_UNAVAILABLE_RESPONSE, METRICS_SECURITY, SESSION_SECURITY } from './openapi';
import { packageVersion } from './package-version';

/** Swagger UI. */
export const API_DOCS_PATH = '/api/docs';
/** The OpenAPI document (JSON). */
export const API_DOCS_JSON_PATH = '/api/docs-json';
/** The AsyncAPI document of the WebSocket / Socket.IO protocol (RealtimeDocsController). */
export const ASYNCAPI_PATH = '/realtime/asyncapi.json';

/**
 * The OpenAPI 3 document of every REST route, generated from the controllers'
 * and DTOs' @nestjs/swagger decorators (explicit: the Swagger CLI plugin is not used).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Realtime Markets REST API')
    .setDescription(
      [
        'Market data and portfolio tracking. Field names are snake_case; **money, prices, quantities and percentages are decimal strings** (`"150.25"`), never floats; timestamps are ISO 8601 (UTC).',
        `Every error has one shape (\`ErrorResponse\`). Log in with \`POST /auth/login\`: the session cookie \`${SESSION_COOKIE}\` authenticates REST calls and socket handshakes.`,
        `The WebSocket / Socket.IO protocol is described by the AsyncAPI document at [${ASYNCAPI_PATH}](${ASYNCAPI_PATH}). Prose reference: docs/api.md and docs/protocol.md.`,
      ].join('\n\n'),
    )
    .setVersion(packageVersion())
    .addCookieAuth(
      SESSION_COOKIE,
      { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Session cookie set by POST /auth/login (httpOnly, SameSite=Lax).' },
      SESSION_SECURITY,
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set (GET /metrics only).' }, METRICS_SECURITY)
    .addGlobalResponse(DATABASE_UNAVAILABLE_RESPONSE)
    .addTag('auth', 'Accounts and the session cookie')
    .addTag('assets', 'Tracked assets and their daily history (public; adding is staff-only)')
    .addTag('portfolios', 'Your portfolios and positions, with exact valuation (logged-in owner only)')
    .addTag('realtime', 'Realtime service views: socket URLs, live counts, the AsyncAPI document, forced price updates')
    .addTag('health', 'Liveness, readiness and metrics')
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ErrorResponseDto] });
}

/** Serves Swagger UI at /api/docs and the document at /api/docs-json (built on first request). */
export function setupApiDocs(app: INestApplication): void {
  SwaggerModule.setup(API_DOCS_PATH, app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: API_DOCS_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Realtime Markets API',
  });
}
