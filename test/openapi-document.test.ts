// /api/v1/openapi.json is a valid OpenAPI 3.1 document (checked by an OpenAPI validator, not by
// our own reading of it), so generators and API consoles can load it as it is.
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { request } from './helpers/auth';

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

  it('is refused by the same validator when it is broken, so the check above can fail', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    const doc = (await res.json()) as { paths: Record<string, Record<string, { responses: unknown }>> };
    doc.paths['/api/v1/connections'].get.responses = {
      200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } },
    };
    const result = await validate(doc as never);
    expect(result.valid).toBe(false);
  });
});
