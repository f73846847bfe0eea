// /api/v1/openapi.json is a valid OpenAPI 3.1 document (checked by an OpenAPI validator, not by
// our own reading of it), so generators and API consoles can load it as it is.
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { request } from './helpers/auth';

type Operation = {
  operationId: string;
  responses: Record<string, { description?: string }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

async function document(): Promise<Document> {
  const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
  return (await res.json()) as Document;
}

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1, with every $ref resolving', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    // The validator dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors, 'validation errors').toEqual([]);
    expect(result.specification).toBe('OpenAPI');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(20);
  });

  it('is checked against the 3.1 schema itself: a structural mistake and a duplicate operationId are refused', async () => {
    const doc = await document();
    // A response without its description is valid JSON and resolves, but is not OpenAPI 3.1.
    const missing = structuredClone(doc);
    delete (missing.paths['/api/v1/connections/{id}/credentials'].post.responses[200] as { description?: string }).description;
    expect((await validate(missing as never)).valid).toBe(false);
    const duplicate = structuredClone(doc);
    duplicate.paths['/api/v1/connections'].get.operationId = 'createConnection';
    expect((await validate(duplicate as never)).valid).toBe(false);
    // …while the 3.1-only form of a nullable type passes, so the 3.0 schema is not the one applied.
    const nullable = structuredClone(doc);
    nullable.components.schemas.Probe = { type: ['string', 'null'] };
    expect((await validate(nullable as never)).valid).toBe(true);
  });

  it('describes credential rotation and the pasted server address the interactive reference shows', async () => {
    const doc = await document();
    const rotate = doc.paths['/api/v1/connections/{id}/credentials'].post;
    expect(rotate.operationId).toBe('replaceConnectionCredentials');
    expect(Object.keys(rotate.responses).sort()).toEqual(['200', '401', '403', '404', '409', '422']);
    const body = rotate.requestBody!.content['application/json'].schema as { properties: Record<string, unknown>; required: string[] };
    // One secret field per kind: auth (SFTP), password (PostgreSQL, MySQL), credentials (S3, Azure); the server asks for the connection's.
    expect(Object.keys(body.properties).sort()).toEqual([
      'accept_changed_host_key',
      'auth',
      'credentials',
      'host_key_fingerprint',
      'password',
    ]);
    expect(body.required ?? []).toEqual([]);
    const test = doc.paths['/api/v1/connections/test'].post.requestBody!.content['application/json'].schema as {
      properties: Record<string, { description?: string }>;
      required: string[];
    };
    expect(test.properties.host.description).toMatch(
      /sftp:\/\/user@sftp\.example\.com:2222\/folder is split into host, port, folder and username/,
    );
    expect(test.required.sort()).toEqual(['auth', 'host']);
  });

  it('is refused by the same validator when it is broken, so the check above can fail', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    const doc = (await res.json()) as { paths: Record<string, Record<string, { responses: unknown }>> };
    doc.paths['/api/v1/connections'].get.responses = {
      200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } },
    };
    const result = await validate(doc as never);
    expect(result.valid).toBe(false);
  });

  it('names each run status with the word the pages show (one vocabulary: badge, filter, charts, CSV)', async () => {
    const doc = await document();
    const run = doc.components.schemas.Run as { properties: { status: { enum: string[]; description: string } } };
    expect(run.properties.status.enum).toContain('generated');
    expect(run.properties.status.description).toContain('`empty` (shown as "No new data")');
    expect(run.properties.status.description).toContain('`generated` (shown as "Waiting to deliver")');
    expect(run.properties.status.description).toContain('`generating` (shown as "Exporting")');
  });
});
