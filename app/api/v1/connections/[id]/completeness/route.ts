// GET /api/v1/connections/{id}/completeness – the Completeness table: each window newest first, delivered, its signature checked, rows against the source, each gap named
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { completenessOf } from '@/lib/management/completeness';
import { connectionOf } from '@/lib/management/lookups';
import type { completenessResponse } from '@/lib/management/responses';
import { completenessQuery } from '@/lib/management/schemas';
import type { z } from 'zod';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const query = parseQuery(req, completenessQuery);
    const connection = await connectionOf(db, program, params);
    const body: z.infer<typeof completenessResponse> = await completenessOf(db, { programId: program, connection, query });
    return Response.json(body);
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
