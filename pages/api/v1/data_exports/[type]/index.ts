// GET /api/v1/data_exports/{type} (lib/export-api/routes.ts)
import { listFiles } from '@/lib/export-api/routes';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false } };

export default nodeRoute(listFiles, ['type']);
