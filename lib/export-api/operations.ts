// The Export API and API access routes as the OpenAPI document and the /docs/api page describe
// them, naming the schemas the handlers validate with.
import {
  apiClientIdParamsSchema,
  apiClientListSchema,
  apiClientResponseSchema,
  createApiClientSchema,
  createdApiClientSchema,
  createdPersonalTokenSchema,
  createPersonalTokenSchema,
  oauthErrorSchema,
  personalTokenListSchema,
  personalTokenResponseSchema,
  tokenIdParamsSchema,
  tokenRequestSchema,
  tokenResponseSchema,
} from '@/lib/auth/api-access-schemas';
import type { ApiOperation, ApiResponse } from '@/lib/http/openapi';
import { errorResponseSchema } from '@/lib/http/schemas';
import {
  downloadParamsSchema,
  exportFileSchema,
  feedQuerySchema,
  fileListResponseSchema,
  fileParamsSchema,
  fileResponseSchema,
  fileSchemaResponseSchema,
  folderListResponseSchema,
  folderSchema,
  latestFileResponseSchema,
  latestQuerySchema,
  listFilesQuerySchema,
  listFoldersQuerySchema,
  programQuerySchema,
  reconciliationQuerySchema,
  reconciliationResponseSchema,
  runParamsSchema,
  signingKeysResponseSchema,
  typeParamsSchema,
} from './schemas';

/** Every schema a response names, by its component name. */
export const EXPORT_API_COMPONENTS = {
  Error: errorResponseSchema,
  ExportFile: exportFileSchema,
  LatestFileResponse: latestFileResponseSchema,
  FileResponse: fileResponseSchema,
  FileListResponse: fileListResponseSchema,
  FileSchemaResponse: fileSchemaResponseSchema,
  Folder: folderSchema,
  FolderListResponse: folderListResponseSchema,
  TokenResponse: tokenResponseSchema,
  OAuthError: oauthErrorSchema,
  CreatedPersonalToken: createdPersonalTokenSchema,
  PersonalTokenList: personalTokenListSchema,
  PersonalTokenResponse: personalTokenResponseSchema,
  CreatedApiClient: createdApiClientSchema,
  ApiClientList: apiClientListSchema,
  ApiClientResponse: apiClientResponseSchema,
  SigningKeys: signingKeysResponseSchema,
  ReconciliationResponse: reconciliationResponseSchema,
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request.',
  401: 'No token or session, or an invalid, expired or revoked token.',
  403: 'The token lacks the scope, or the account the permission.',
  404: 'No such resource in the program (other programs’ resources are not found either).',
  410: 'The file has expired; details.expired_at says when.',
  416: 'The range is outside the file.',
  422: 'Invalid parameters; details.fields names each.',
  429: 'Over the request budget; retry after Retry-After seconds.',
};

function errors(...statuses: number[]): Record<number, ApiResponse> {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_DESCRIPTIONS[s],
        schema: errorResponseSchema,
        ...(s === 429 ? { headers: { 'Retry-After': 'Seconds to wait.', ...RATE_HEADERS } } : {}),
      },
    ]),
  );
}

const RATE_HEADERS = {
  'RateLimit-Limit': 'Requests per minute of the caller’s budget.',
  'RateLimit-Remaining': 'Requests left in the budget.',
  'RateLimit-Reset': 'Seconds until the budget is whole again.',
};
const ETAG_HEADERS = { ETag: 'Over the answer’s stable content (ids, checksums, window status; not the signed links).', ...RATE_HEADERS };
const NOT_MODIFIED: ApiResponse = { description: 'Not modified: If-None-Match names the current ETag.', headers: ETAG_HEADERS };

const READ = {
  security: ['bearer', 'session'],
  scope: 'data_exports.read',
  permission: 'exports.download',
} as const satisfies Partial<ApiOperation>;

export const EXPORT_API_OPERATIONS: ApiOperation[] = [
  {
    method: 'post',
    path: '/api/oauth/token',
    operationId: 'requestToken',
    tag: 'Authentication',
    summary: 'Get an access token (OAuth 2.0 client credentials)',
    description:
      'Authenticate the API client with HTTP Basic (client id and secret) or with client_id and client_secret in the form body. ' +
      'Errors use the OAuth 2.0 shape (RFC 6749 §5.2): `{"error": "invalid_client", "error_description": …}` — 401 for bad client credentials, 400 otherwise.',
    security: ['client_basic'],
    body: { schema: tokenRequestSchema, type: 'application/x-www-form-urlencoded' },
    responses: {
      200: { description: 'A bearer token for the client’s program.', schema: tokenResponseSchema },
      400: { description: 'invalid_request, unsupported_grant_type or invalid_scope.', schema: oauthErrorSchema },
      401: { description: 'invalid_client: unknown client, wrong secret or revoked client.', schema: oauthErrorSchema },
      429: {
        description: 'Too many token requests for this client.',
        schema: oauthErrorSchema,
        headers: { 'Retry-After': 'Seconds to wait.' },
      },
    },
  },
  {
    method: 'get',
    path: '/api/v1/data_exports/{type}/latest',
    operationId: 'getLatestExportFile',
    tag: 'Export files',
    summary: 'The file of the connection’s newest closed window',
    description:
      'One API connection’s feed (`?connection=` when the caller reads several). `window` is the connection’s newest closed window; ' +
      '`data` its file of this type with a signed download_url. Never an older window’s file: when the window had no rows of this type ' +
      '`data` is null and `window.status` is `empty` (the empty payload); while the window is not exported yet it is `pending` — ask again later. ' +
      'With `export_type=historical`: the connection’s newest historical file. Send the ETag back as If-None-Match to poll cheaply (304).',
    ...READ,
    params: typeParamsSchema,
    query: latestQuerySchema,
    responses: {
      200: { description: 'The window and its file, or null.', schema: latestFileResponseSchema, headers: ETAG_HEADERS },
      304: NOT_MODIFIED,
      ...errors(401, 403, 404, 422, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/data_exports/{type}',
    operationId: 'listExportFiles',
    tag: 'Export files',
    summary: 'One API connection’s available files of a type, newest first',
    description:
      'The files of one API connection (`?connection=` when the caller reads several; 422 names the choices), incremental and historical ' +
      '(filter with export_type). Files of SFTP connections are in no feed (see Folders). ' +
      'Cursor pagination: pass next_cursor as cursor for the next (older) page until it is null. Files that arrive while you page are newer than every cursor, ' +
      'so a walk never repeats or skips a file; start again from the first page to see them.',
    ...READ,
    params: typeParamsSchema,
    query: listFilesQuerySchema,
    responses: {
      200: { description: 'A page of files.', schema: fileListResponseSchema, headers: ETAG_HEADERS },
      304: NOT_MODIFIED,
      ...errors(401, 403, 404, 422, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/data_exports/reconciliation',
    operationId: 'reconcileExportWindows',
    tag: 'Export files',
    summary: 'One API connection’s windows in a range: state, sequence, rows and sha256 of each file',
    description:
      'Every window of the connection whose start lies in [from, to), oldest first (cursor pagination, as the file lists): its state, ' +
      'its place in the sequence, the rows exported and each file’s rows and sha256, and the manifest with its signature. Hold it ' +
      'against what you loaded: a window you lack, or one whose rows differ, shows at once. Same feed scoping as the file lists.',
    ...READ,
    query: reconciliationQuerySchema,
    responses: {
      200: { description: 'A page of windows.', schema: reconciliationResponseSchema, headers: ETAG_HEADERS },
      304: NOT_MODIFIED,
      ...errors(401, 403, 404, 422, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/data_exports/{type}/{file_id}',
    operationId: 'getExportFile',
    tag: 'Export files',
    summary: 'One file’s metadata and a signed download link',
    ...READ,
    params: fileParamsSchema,
    query: feedQuerySchema,
    responses: {
      200: { description: 'The file.', schema: fileResponseSchema, headers: ETAG_HEADERS },
      304: NOT_MODIFIED,
      ...errors(401, 403, 404, 410, 422, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/schemas/{type}',
    operationId: 'getFileSchema',
    tag: 'Export files',
    summary: 'The typed columns of a file type (Parquet files, database tables)',
    description:
      'Every column of the type in file order: its snake_case name, its CSV header, its value kind, its Parquet physical and logical type ' +
      'and whether it can be null, with the schema_version that manifests and the Parquet files’ key-value metadata carry. ' +
      'The same for every program and connection.',
    security: ['bearer', 'session'],
    scope: 'data_exports.read',
    permission: 'exports.download',
    params: typeParamsSchema,
    responses: {
      200: { description: 'The schema.', schema: fileSchemaResponseSchema, headers: ETAG_HEADERS },
      304: NOT_MODIFIED,
      ...errors(401, 403, 404, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/downloads/{signed}',
    operationId: 'downloadExportFile',
    tag: 'Export files',
    summary: 'The bytes of a file (a download_url)',
    description:
      'The link itself is the credential: no token needed, valid for presigned_url_ttl_seconds. Supports `Range: bytes=…` (206), ' +
      '`If-None-Match` (304) and HEAD. The ETag is the file’s SHA-256. A link past its expiry answers 403; an expired file 410.',
    security: [],
    params: downloadParamsSchema,
    responses: {
      200: {
        description: 'The whole file.',
        content: { type: 'application/octet-stream' },
        headers: { ETag: '"<sha256>"', 'Content-Disposition': 'attachment; filename="…"' },
      },
      206: {
        description: 'One byte range.',
        content: { type: 'application/octet-stream' },
        headers: { 'Content-Range': 'bytes start-end/size' },
      },
      302: {
        description: 'With DDE_S3_PRESIGN=true on an S3 backend: a redirect to a short-lived presigned URL of the object.',
        headers: { Location: 'The presigned URL.' },
      },
      304: { description: 'Not modified: If-None-Match names the file’s ETag.', headers: { ETag: '"<sha256>"' } },
      ...errors(403, 404, 410, 416),
    },
  },
  {
    method: 'get',
    path: '/api/v1/folders',
    operationId: 'listFolders',
    tag: 'Folders',
    summary: 'Folders (one per run that has files), newest first',
    ...READ,
    query: listFoldersQuerySchema,
    responses: { 200: { description: 'A page of folders.', schema: folderListResponseSchema }, ...errors(401, 403, 404, 422, 429) },
  },
  {
    method: 'get',
    path: '/api/v1/folders/{run_id}/archive',
    operationId: 'downloadFolder',
    tag: 'Folders',
    summary: 'A folder as one zip: its files, .sha256 sidecars and manifest',
    ...READ,
    params: runParamsSchema,
    query: programQuerySchema,
    responses: {
      200: { description: 'The zip, streamed.', content: { type: 'application/zip' } },
      ...errors(401, 403, 404, 410, 422, 429),
    },
  },
  {
    method: 'get',
    path: '/api/v1/tokens',
    operationId: 'listPersonalTokens',
    tag: 'API access',
    summary: 'Your personal access tokens',
    security: ['session'],
    responses: { 200: { description: 'The tokens (never the token values).', schema: personalTokenListSchema }, ...errors(401, 403) },
  },
  {
    method: 'post',
    path: '/api/v1/tokens',
    operationId: 'createPersonalToken',
    tag: 'API access',
    summary: 'Create a personal access token acting with your access',
    description:
      'The token is in this response only. Its scopes stay within your role: a Brand Super Admin may give data_exports.read only; asking for more answers 403 and creates nothing.',
    security: ['session'],
    body: { schema: createPersonalTokenSchema, type: 'application/json' },
    responses: { 201: { description: 'The token, shown once.', schema: createdPersonalTokenSchema }, ...errors(401, 403, 422) },
  },
  {
    method: 'delete',
    path: '/api/v1/tokens/{token_id}',
    operationId: 'revokePersonalToken',
    tag: 'API access',
    summary: 'Revoke one of your personal access tokens',
    security: ['session'],
    params: tokenIdParamsSchema,
    responses: { 200: { description: 'The revoked token.', schema: personalTokenResponseSchema }, ...errors(401, 403, 404) },
  },
  {
    method: 'get',
    path: '/api/v1/api-clients',
    operationId: 'listApiClients',
    tag: 'API access',
    summary: 'A program’s API clients',
    description: 'Readable by Brand Super Admins of the program; creating and revoking need api_access.manage.',
    security: ['session'],
    permission: 'api_access.read',
    query: programQuerySchema,
    responses: { 200: { description: 'The clients (never their secrets).', schema: apiClientListSchema }, ...errors(401, 403, 404, 422) },
  },
  {
    method: 'post',
    path: '/api/v1/api-clients',
    operationId: 'createApiClient',
    tag: 'API access',
    summary: 'Create an API client for a program',
    description: 'The client secret is in this response only.',
    security: ['session'],
    permission: 'api_access.manage',
    body: { schema: createApiClientSchema, type: 'application/json' },
    responses: {
      201: { description: 'The client and its secret, shown once.', schema: createdApiClientSchema },
      ...errors(401, 403, 404, 422),
    },
  },
  {
    method: 'delete',
    path: '/api/v1/api-clients/{client_id}',
    operationId: 'revokeApiClient',
    tag: 'API access',
    summary: 'Revoke an API client and every token issued to it',
    security: ['session'],
    permission: 'api_access.manage',
    params: apiClientIdParamsSchema,
    query: programQuerySchema,
    responses: { 200: { description: 'The revoked client.', schema: apiClientResponseSchema }, ...errors(401, 403, 404, 422) },
  },
  {
    method: 'get',
    path: '/api/v1/signing-keys',
    operationId: 'listSigningKeys',
    tag: 'Export files',
    summary: 'The public keys that sign manifests (JWKS)',
    description:
      'Every manifest has a detached Ed25519 signature beside it, `<manifest>.sig`: `{"alg":"EdDSA","kid":…,"signature":…}` over the ' +
      'manifest’s exact bytes. Verify it with the key of that `kid` from here (`dde verify --keys <this URL>`). Public: no token needed.',
    security: [],
    responses: { 200: { description: 'The keys, newest first.', schema: signingKeysResponseSchema } },
  },
];
