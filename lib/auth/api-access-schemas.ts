// The request and response shapes of API access: the client-credentials token endpoint, personal
// access tokens and API clients. Handlers validate with these; the OpenAPI document is generated
// from the same schemas.
import { z } from 'zod';
import { SCOPES } from '@/db/schema/enums';
import { programIdSchema as programId } from '@/lib/http/params';
import { dataSchema, instantSchema, listSchema } from '@/lib/http/schemas';

const scope = z.enum(SCOPES, { error: `must be one of ${SCOPES.join(', ')}` });
const scopes = z.array(scope).min(1, 'give at least one scope').max(SCOPES.length);
/** What an API client may hold: it reads its connections' files, nothing of the management API. */
export const CLIENT_SCOPES = ['data_exports.read'] as const;
export const CLIENT_SCOPE_MESSAGE =
  "an API client reads its connections' files only: data_exports.read (the management API takes a personal access token)";
const clientScopes = z
  .array(z.enum(CLIENT_SCOPES, { error: CLIENT_SCOPE_MESSAGE }))
  .min(1, 'give at least one scope')
  .max(SCOPES.length);
const name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

// --- POST /api/oauth/token (RFC 6749 §4.4) ---------------------------------------------------

export const tokenRequestSchema = z.object({
  grant_type: z.string().max(100).describe('Must be `client_credentials`.'),
  scope: z.string().max(500).optional().describe('Space-separated scopes, each one the client holds. Default: every scope of the client.'),
  client_id: z.string().max(200).optional().describe('With client_secret, instead of HTTP Basic authentication.'),
  client_secret: z.string().max(500).optional(),
});

export const tokenResponseSchema = z.object({
  access_token: z.string().describe('Send as `Authorization: Bearer <access_token>`.'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires.'),
  scope: z.string().describe('The granted scopes, space-separated.'),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'rate_limited',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERRORS)[number];

export const oauthErrorSchema = z.object({
  error: z.enum(OAUTH_ERRORS),
  error_description: z.string(),
  request_id: z.string(),
});

// --- Personal access tokens: /api/v1/tokens --------------------------------------------------

export const createPersonalTokenSchema = z.strictObject({
  name,
  scopes: scopes.default(['data_exports.read']),
  expires_in_days: z
    .number({ error: 'must be a number of days, or null for a token that does not expire' })
    .int()
    .min(1)
    .max(365)
    .nullable()
    .default(90)
    .describe('Days until the token expires (1–365), or null for no expiry. Default 90.'),
});

export const tokenIdParamsSchema = z.object({ token_id: z.guid() });

const tokenStatus = z.enum(['active', 'expired', 'revoked']);

export const personalTokenSchema = z.object({
  id: z.guid(),
  name: z.string().nullable(),
  token_prefix: z.string().describe('The first characters of the token, to recognise it.'),
  scopes: z.array(scope),
  status: tokenStatus,
  created_at: instantSchema,
  expires_at: instantSchema.nullable(),
  last_used_at: instantSchema.nullable(),
  revoked_at: instantSchema.nullable(),
});
export type PersonalTokenView = z.infer<typeof personalTokenSchema>;

export const createdPersonalTokenSchema = dataSchema(
  personalTokenSchema.extend({ token: z.string().describe('The token itself. Shown only in this response; store it now.') }),
);
export const personalTokenListSchema = listSchema(personalTokenSchema);
export const personalTokenResponseSchema = dataSchema(personalTokenSchema);

// --- API clients: /api/v1/api-clients --------------------------------------------------------

export const createApiClientSchema = z.strictObject({
  program_id: programId,
  name,
  scopes: clientScopes.default(['data_exports.read']),
  connection_ids: z
    .array(z.guid({ error: 'must be an API connection id (a UUID)' }))
    .max(50)
    .optional()
    .describe('The API connection(s) the client reads. Optional when the program has exactly one API connection.'),
});

export const apiClientIdParamsSchema = z.object({
  client_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/)
    .describe('The client id (ddec_…) or the client’s row id.'),
});

export const apiClientSchema = z.object({
  id: z.guid(),
  client_id: z.string().describe('Public identifier, used as the HTTP Basic user name at /api/oauth/token.'),
  name: z.string(),
  program_id: z.number().int(),
  connection_ids: z.array(z.guid()).describe('The API connections whose feeds the client reads.'),
  scopes: z.array(scope),
  status: z.enum(['active', 'revoked']),
  created_at: instantSchema,
  last_used_at: instantSchema.nullable(),
  revoked_at: instantSchema.nullable(),
});
export type ApiClientView = z.infer<typeof apiClientSchema>;

export const createdApiClientSchema = dataSchema(
  apiClientSchema.extend({ client_secret: z.string().describe('Shown only in this response; store it now.') }),
);
export const apiClientListSchema = listSchema(apiClientSchema);
export const apiClientResponseSchema = dataSchema(apiClientSchema);
