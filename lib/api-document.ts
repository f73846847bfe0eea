// The API's OpenAPI document: every area's operations and components in one (export API, management
// API, webhooks), so it stands above all three; an area joins by adding its list here.
import { buildOpenApiDocument } from '@/lib/http/openapi';
import { MANAGEMENT_API_COMPONENTS, MANAGEMENT_API_OPERATIONS } from '@/lib/management/operations';
import { WEBHOOK_API_COMPONENTS, WEBHOOK_API_OPERATIONS } from '@/lib/webhooks/operations';
import pkg from '@/package.json';
import { EXPORT_API_COMPONENTS, EXPORT_API_OPERATIONS } from '@/lib/export-api/operations';

/** Every operation of the API, all areas: what the document describes. */
export const API_OPERATIONS = [...EXPORT_API_OPERATIONS, ...MANAGEMENT_API_OPERATIONS, ...WEBHOOK_API_OPERATIONS];
/** Every schema a response names, by component name. */
export const API_COMPONENTS = { ...EXPORT_API_COMPONENTS, ...MANAGEMENT_API_COMPONENTS, ...WEBHOOK_API_COMPONENTS };

let cached: { origin: string; doc: Record<string, unknown> } | undefined;

export function apiDocument(origin: string): Record<string, unknown> {
  if (cached?.origin !== origin) {
    cached = {
      origin,
      doc: buildOpenApiDocument({
        info: {
          title: 'Direct Data Export API',
          version: pkg.version,
          description:
            'Export files (users, campaigns, activities) of your program, with signed download links, and folders as zips. ' +
            'Authenticate with `Authorization: Bearer <token>`: a token from POST /api/oauth/token (API client credentials) or a personal access token. ' +
            'Errors share one shape: `{"error": {"code", "message", "details"?}, "request_id"}` (the token endpoint uses the OAuth 2.0 shape). ' +
            'A guide with curl examples is at /docs/api.',
        },
        servers: [{ url: origin }],
        components: API_COMPONENTS,
        operations: API_OPERATIONS,
      }),
    };
  }
  return cached.doc;
}
