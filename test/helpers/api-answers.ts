// Every answer a test receives is checked against the API's schemas: a JSON answer against the
// schema its documented operation (every area's, as lib/api-document.ts joins them) names for that status, an undocumented error against the one error shape. A success that no
// operation documents fails the test: the OpenAPI document must describe what the API answers.
import { expect } from 'vitest';
import { API_OPERATIONS } from '@/lib/api-document';
import type { ApiOperation } from '@/lib/http/openapi';
import { errorResponseSchema } from '@/lib/http/schemas';

const templates = (op: ApiOperation) => (op.path.match(/\{/g) ?? []).length;
/** Literal paths before templated ones (`/connections/test` before `/connections/{id}`). */
const OPERATIONS = [...API_OPERATIONS]
  .sort((a, b) => templates(a) - templates(b))
  .map((op) => ({ op, pattern: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

export function operationOf(method: string, url: string): ApiOperation | undefined {
  const pathname = new URL(url, 'http://localhost').pathname;
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  return OPERATIONS.find(({ op, pattern }) => op.method === m && pattern.test(pathname))?.op;
}

/** Checks `res` (left unread) against the schemas of the operation `method url` names. */
export async function checkAnswer(method: string, url: string, res: Response): Promise<void> {
  // The document itself: test/openapi-document.test.ts validates it.
  if (new URL(url, 'http://localhost').pathname === '/api/v1/openapi.json') return;
  const what = `${method} ${new URL(url, 'http://localhost').pathname} → ${res.status}`;
  const op = operationOf(method, url);
  const documented = op?.responses[res.status];
  if (res.status < 400) {
    expect(documented, `${what}: no documented operation answers this`).toBeDefined();
  }
  // A file's own bytes (a download): a .json manifest is content, not an API answer.
  if (documented?.content) return;
  const json = (res.headers.get('content-type') ?? '').includes('json');
  if (!json || method === 'HEAD' || res.status === 204 || res.status === 304) return;
  const body: unknown = await res.clone().json();
  const schema = documented?.schema ?? (res.status >= 400 ? errorResponseSchema : undefined);
  expect(schema, `${what}: a JSON answer without a documented schema`).toBeDefined();
  expect(schema!.safeParse(body).error, `${what}: the answer against its schema`).toBeUndefined();
}

/** `handler`, checking each answer with checkAnswer. */
export function checked<H extends (req: Request, ctx: { params: Promise<never> }) => Promise<Response>>(handler: H): H {
  return (async (req: Request, ctx: { params: Promise<never> }) => {
    const res = await handler(req, ctx);
    await checkAnswer(req.method, req.url, res);
    return res;
  }) as H;
}
