// GET /api/v1/data_exports/{type}/latest – the hot path of a polling pipeline, as a Pages Router API route.
import { GET } from '@/lib/export-api/latest-route';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false } };

export default nodeRoute(GET, ['type']);
