// GET /api/v1/data_exports/reconciliation – one API connection's windows in a range, in window order: state, sequence, each file's rows and sha256, the signed manifest
// A Pages Router API route like the rest of the export API (same feed scoping: EXPORT_API_GATE and resolveFeed).
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE, resolveFeed } from '@/lib/export-api/feed';
import { jsonWithEtag } from '@/lib/export-api/etag';
import { reconcileFeed } from '@/lib/export-api/reconciliation';
import { reconciliationQuerySchema } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parseQuery } from '@/lib/http/parse';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(async (req, { db, program, clientFeeds }) => {
  const query = parseQuery(req, reconciliationQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  return jsonWithEtag(req, await reconcileFeed(db, { programId: program, feed, query }));
}, EXPORT_API_GATE);

export default nodeRoute(GET, []);
