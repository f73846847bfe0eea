// GET /api/v1/data_exports/{type}/latest (lib/export-api/routes.ts)
import { latestFile } from '@/lib/export-api/routes';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false } };

export default nodeRoute(latestFile, ['type']);
