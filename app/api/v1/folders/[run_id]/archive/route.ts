// GET /api/v1/folders/{run_id}/archive – one folder as a streamed zip: its files, their .sha256 sidecars and the manifest
import { folderArchive } from '@/lib/export-api/folders';
import { PATH_NOT_FOUND, runParamsSchema } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (_req, { db, params, program, clientFeeds }) => {
    const { run_id: runId } = parsePathParams(params, runParamsSchema, PATH_NOT_FOUND);
    return folderArchive(db, { programId: program, runId, onlyConnections: clientFeeds?.map((f) => f.id) });
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required', clientFeed: true },
);
