// GET /api/v1/data_exports/{type}/{file_id} (lib/export-api/routes.ts)
import { fileMetadata } from '@/lib/export-api/routes';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false } };

export default nodeRoute(fileMetadata, ['type', 'file_id']);
