// GET /api/v1/downloads/{signed} – the bytes of an export file behind a signed link (Content-Length, Range, ETag; 403 once the link expires, 410 once the file does)
// A Pages Router API route, not an App Router route handler: those drop Content-Length (see lib/http/node-adapter.ts).
import { GET } from '@/lib/export-api/download-route';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false, responseLimit: false } };

// The signature is a credential for as long as the link lives: it stays out of the request log.
export default nodeRoute(GET, ['signed'], { maskPath: (path) => path.replace(/\.[A-Za-z0-9_-]{43}$/, '.[signature]') });
