// GET|HEAD /api/v1/downloads/{signed} – the bytes of an export file behind a signed link (Content-Length, Range, ETag; 403 once the link expires, 410 once the file does)
// A Pages Router API route, not an App Router route handler: those drop Content-Length (see lib/http/node-adapter.ts).
import { withRequest } from '@/lib/auth/with-auth';
import { serveDownload } from '@/lib/export-api/download';
import { downloadParamsSchema } from '@/lib/export-api/schemas';
import { AppError } from '@/lib/http/errors';
import { nodeRoute } from '@/lib/http/node-adapter';

export const config = { api: { bodyParser: false, responseLimit: false } };

export const GET = withRequest(async (req, ctx) => {
  // A link that is not one is refused like a forged one (403), never "not found".
  const parsed = downloadParamsSchema.safeParse(ctx.params);
  if (!parsed.success) throw new AppError('forbidden', 'This download link is not valid.');
  return serveDownload(ctx.database().db, req, parsed.data.signed);
});
/** HEAD is answered by the same handler (no body is sent). */
export const HEAD = GET;

// The signature is a credential for as long as the link lives: it stays out of the request log.
export default nodeRoute(GET, ['signed'], { maskPath: (path) => path.replace(/\.[A-Za-z0-9_-]{43}$/, '.[signature]') });
