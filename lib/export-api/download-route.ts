// The download route as a web handler: GET and HEAD of /api/v1/downloads/{signed}. Served by
// pages/api/v1/downloads/[signed].ts through lib/http/node-adapter.ts so Content-Length survives.
import { AppError } from '@/lib/http/errors';
import { withRequest, type RequestContext } from '@/lib/auth/with-auth';
import { serveDownload } from './download';
import { downloadParamsSchema } from './schemas';

async function download(req: Request, ctx: RequestContext): Promise<Response> {
  // A link that is not one is refused like a forged one (403), never "not found".
  const parsed = downloadParamsSchema.safeParse(ctx.params);
  if (!parsed.success) throw new AppError('forbidden', 'This download link is not valid.');
  return serveDownload(ctx.database().db, req, parsed.data.signed);
}

export const GET = withRequest(download);
export const HEAD = withRequest(download);
