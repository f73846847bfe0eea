// The API's description: the OpenAPI 3.1 document generated from the handlers' zod schemas, and the
// /docs/api reference page with its curl examples.
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { EXPORT_API_OPERATIONS } from '@/lib/export-api/operations';
import { request } from './helpers/auth';
import { call } from './helpers/export-api';

vi.mock('next/headers', () => ({ headers: async () => new Headers({ host: 'dde.example.org', 'x-forwarded-proto': 'https' }) }));

type Doc = {
  openapi: string;
  info: { title: string };
  servers: { url: string }[];
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
        security: unknown[];
        requestBody?: { content: Record<string, unknown> };
        responses: Record<string, unknown>;
      }
    >
  >;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('GET /api/v1/openapi.json', () => {
  it('describes every route, from the same schemas the handlers validate with', async () => {
    const res = await call(openapiRoute, request('GET', '/api/v1/openapi.json'));
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'http://localhost:3000' }]);
    for (const op of EXPORT_API_OPERATIONS) expect(doc.paths[op.path]?.[op.method]?.operationId).toBe(op.operationId);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/oauth/token',
        '/api/v1/data_exports/{type}/latest',
        '/api/v1/data_exports/{type}',
        '/api/v1/data_exports/{type}/{file_id}',
        '/api/v1/downloads/{signed}',
        '/api/v1/folders',
        '/api/v1/folders/{run_id}/archive',
        '/api/v1/tokens',
        '/api/v1/api-clients',
      ]),
    );

    const list = doc.paths['/api/v1/data_exports/{type}'].get;
    const limit = list.parameters.find((p) => p.name === 'limit')!;
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } });
    const type = list.parameters.find((p) => p.name === 'type')!;
    expect(type).toMatchObject({
      in: 'path',
      required: true,
      schema: { enum: ['user', 'users', 'campaign', 'campaigns', 'activity', 'activities'] },
    });
    expect(list.parameters.map((p) => p.name)).toEqual([
      'type',
      'program',
      'connection',
      'limit',
      'cursor',
      'since',
      'until',
      'export_type',
    ]);
    expect(list.security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
    expect(Object.keys(list.responses)).toEqual(['200', '304', '401', '403', '404', '422', '429']);

    expect(doc.paths['/api/oauth/token'].post.requestBody!.content).toHaveProperty('application/x-www-form-urlencoded');
    expect(doc.paths['/api/v1/downloads/{signed}'].get.security).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'clientBasic', 'sessionCookie']);

    // Every reference resolves to a component.
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const ref of all) expect(doc.components.schemas, ref).toHaveProperty(ref.replace('#/components/schemas/', ''));
    expect(doc.components.schemas.ExportFile).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['download_url', 'sha256', 'presigned_url_ttl_seconds']),
    });
    expect(JSON.stringify(doc)).not.toContain('$schema');
  });
});

describe('/docs/api', () => {
  it('renders the guide with copy-paste curl examples for this server and a row per route', async () => {
    const { default: ApiDocsPage } = await import('@/app/docs/api/page');
    const html = renderToStaticMarkup(await ApiDocsPage())
      .replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    expect(html).toContain('export DDE=https://dde.example.org');
    for (const snippet of [
      '-d grant_type=client_credentials',
      '$DDE/api/v1/data_exports/activity/latest',
      '"status": "empty"',
      '--connection CONNECTION_ID',
      'next_cursor',
      'sha256sum -c',
      '/api/v1/folders/$RUN_ID/archive',
      'href="/api/v1/openapi.json"',
    ]) {
      expect(html).toContain(snippet);
    }
    for (const op of EXPORT_API_OPERATIONS) expect(html).toContain(op.path);
  });
});
