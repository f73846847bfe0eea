// The interactive reference on /docs/api (Scalar) checks /api/v1/openapi.json against its own strict
// OpenAPI 3.1 schema as it loads it and logs every mismatch to the browser console: the document
// must pass that check too, not only a general OpenAPI validator (test/openapi-document.test.ts).
import { createWorkspaceStore } from '@scalar/workspace-store/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { request } from './helpers/auth';

afterEach(() => vi.restoreAllMocks());

describe('the OpenAPI document in the reference renderer', () => {
  it('loads without a document validation error', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    const document = (await res.json()) as Record<string, unknown>;
    const warnings: unknown[][] = [];
    vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args));
    const store = createWorkspaceStore();
    await store.addDocument({ name: 'dde', document });
    // Each mismatch as the console lists it: where, and what the renderer expected.
    const errors = warnings
      .flatMap((w) => w)
      .flatMap((w) => (Array.isArray(w) ? (w as { path: string; message: string }[]) : []))
      .map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
