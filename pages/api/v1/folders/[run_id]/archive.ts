// GET /api/v1/folders/{run_id}/archive – one folder as a streamed zip: its files, their .sha256 sidecars and the manifest
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE } from '@/lib/export-api/feed';
import { folderArchive } from '@/lib/export-api/folders';
import { PATH_NOT_FOUND, runParamsSchema } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parsePathParams } from '@/lib/http/params';

export const config = { api: { bodyParser: false, responseLimit: false } };

export const GET = withAuth(async (_req, { db, params, program, clientFeeds }) => {
  const { run_id: runId } = parsePathParams(params, runParamsSchema, PATH_NOT_FOUND);
  return folderArchive(db, { programId: program, runId, onlyConnections: clientFeeds?.map((f) => f.id) });
}, EXPORT_API_GATE);

export default nodeRoute(GET, ['run_id']);
