// The OpenAPI 3.1 document, built from route descriptions that name the same zod schemas the
// handlers validate with. Each API area exports a list of ApiOperation (lib/export-api/operations.ts
// for the Export API and API access); app/api/v1/openapi.json/route.ts joins the lists, so the
// management API adds its routes by exporting one more list.
import { z } from 'zod';

export type Security = 'bearer' | 'session' | 'client_basic';

export type ApiResponse = {
  description: string;
  /** A JSON body: must be one of the document's components (see buildOpenApiDocument). */
  schema?: z.ZodType;
  /** A non-JSON body (a file, a zip). */
  content?: { type: string; description?: string };
  headers?: Record<string, string>;
};

export type ApiOperation = {
  method: 'get' | 'head' | 'post' | 'patch' | 'delete';
  /** OpenAPI path, `{name}` for parameters: `/api/v1/data_exports/{type}/latest`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Any one of these authenticates the call; empty for public routes (and signed links, which carry their own credential). */
  security: Security[];
  /** The token scope the route needs (documented as an extension and in the description). */
  scope?: string;
  permission?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; type: 'application/json' | 'application/x-www-form-urlencoded'; description?: string };
  responses: Record<number, ApiResponse>;
};

export type ApiDocumentInfo = { title: string; version: string; description: string };

type JsonSchema = Record<string, unknown>;

const SECURITY_SCHEMES: Record<Security, JsonSchema> = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token: from POST /api/oauth/token (client credentials) or a personal access token.',
  },
  session: { type: 'apiKey', in: 'cookie', name: 'next-auth.session-token', description: 'The signed-in session of the web UI.' },
  client_basic: { type: 'http', scheme: 'basic', description: 'API client id and secret (RFC 6749 §2.3.1).' },
};

const SECURITY_NAMES: Record<Security, string> = { bearer: 'bearerAuth', session: 'sessionCookie', client_basic: 'clientBasic' };

/** JSON Schema the document can hold: no $schema / $id, no regex beside a named format, no safe-integer bounds. */
function tidy(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(tidy);
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema as JsonSchema)) {
    if (k === '$schema' || k === '$id') continue;
    if (k === 'pattern' && typeof (schema as JsonSchema).format === 'string') continue;
    // zod's safe-integer bounds say nothing a reader needs.
    if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    out[k] = tidy(v);
  }
  return out;
}

const ANY_TYPE = ['object', 'array', 'string', 'number', 'boolean', 'null'];
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);

/** The types a schema's branch allows: its own `type`, "object" for a $ref (every component is an object); null when unknown. */
function branchTypes(b: JsonSchema): string[] | null {
  if (typeof b.$ref === 'string') return ['object'];
  if (typeof b.type === 'string') return [b.type];
  if (Array.isArray(b.type)) return b.type as string[];
  return null;
}

/**
 * Every schema with a `type`, as the interactive reference's renderer requires of each schema it
 * checks (it logs the document as invalid otherwise): a nullable value (`anyOf: [X, null]`, zod's
 * form) becomes X with `type: [X's type, "null"]`; another union gets the types of its branches
 * beside it; a schema that allows anything ("unknown") lists every type. The same values validate.
 */
export function withTypes(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const s: JsonSchema = { ...(schema as JsonSchema) };
  for (const k of ['properties', 'patternProperties', '$defs']) {
    const map = s[k] as Record<string, unknown> | undefined;
    if (map && typeof map === 'object') s[k] = Object.fromEntries(Object.entries(map).map(([n, v]) => [n, withTypes(v)]));
  }
  for (const k of ['items', 'additionalProperties', 'not', 'contentSchema']) if (s[k] && typeof s[k] === 'object') s[k] = withTypes(s[k]);
  for (const k of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) if (Array.isArray(s[k])) s[k] = (s[k] as unknown[]).map(withTypes);
  if (s.type !== undefined || typeof s.$ref === 'string') return s;
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) {
    const nonNull = union.filter((b) => b.type !== 'null');
    const only = nonNull[0];
    if (union.length === 2 && nonNull.length === 1 && typeof only.type === 'string' && !only.$ref && !only.anyOf && !only.oneOf) {
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      return {
        ...only,
        ...rest,
        type: [only.type, 'null'],
        ...(Array.isArray(only.enum) ? { enum: [...(only.enum as unknown[]), null] } : {}),
      };
    }
    const types = union.map(branchTypes);
    if (types.every((t) => t !== null)) {
      const all = [...new Set(types.flat() as string[])];
      return { type: all.length === 1 ? all[0] : all, ...s };
    }
    return s;
  }
  if (Object.keys(s).every((k) => ANNOTATIONS.has(k))) return { type: ANY_TYPE, ...s };
  return s;
}

function inputSchema(schema: z.ZodType): JsonSchema {
  return withTypes(tidy(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }))) as JsonSchema;
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = inputSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/**
 * The document. `components` names every response schema (by identity); a response whose schema is
 * not among them is a programming error and throws, so the document never silently inlines.
 */
export function buildOpenApiDocument(params: {
  info: ApiDocumentInfo;
  components: Record<string, z.ZodType>;
  operations: ApiOperation[];
  servers?: { url: string }[];
}): JsonSchema {
  const registry = z.registry<{ id: string }>();
  const nameOf = new Map<z.ZodType, string>();
  for (const [id, schema] of Object.entries(params.components)) {
    registry.add(schema, { id });
    nameOf.set(schema, id);
  }
  const generated = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }) as {
    schemas: Record<string, unknown>;
  };
  const schemas = Object.fromEntries(Object.entries(generated.schemas).map(([k, v]) => [k, withTypes(tidy(v))]));

  const used = new Set<Security>();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of params.operations) {
    op.security.forEach((s) => used.add(s));
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      let content: Record<string, unknown> | undefined;
      if (r.schema) {
        const id = nameOf.get(r.schema);
        if (!id) throw new Error(`OpenAPI: the ${status} response of ${op.operationId} uses a schema that is not a component`);
        content = { 'application/json': { schema: { $ref: `#/components/schemas/${id}` } } };
      } else if (r.content) {
        content = {
          [r.content.type]: {
            schema: { type: 'string', contentEncoding: 'binary', ...(r.content.description ? { description: r.content.description } : {}) },
          },
        };
      }
      responses[status] = {
        description: r.description,
        ...(r.headers
          ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) }
          : {}),
        ...(content ? { content } : {}),
      };
    }
    const needs = [op.scope && `scope \`${op.scope}\``, op.permission && `permission \`${op.permission}\``].filter(Boolean).join(', ');
    paths[op.path] ??= {};
    paths[op.path][op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description || needs ? { description: [op.description, needs && `Requires ${needs}.`].filter(Boolean).join('\n\n') } : {}),
      tags: [op.tag],
      security: op.security.map((s) => ({ [SECURITY_NAMES[s]]: [] })),
      ...(op.scope ? { 'x-required-scope': op.scope } : {}),
      parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query')],
      ...(op.body
        ? {
            requestBody: {
              required: true,
              ...(op.body.description ? { description: op.body.description } : {}),
              content: { [op.body.type]: { schema: inputSchema(op.body.schema) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: params.info,
    ...(params.servers ? { servers: params.servers } : {}),
    paths,
    components: {
      schemas,
      securitySchemes: Object.fromEntries([...used].map((s) => [SECURITY_NAMES[s], SECURITY_SCHEMES[s]])),
    },
  };
}
