// GET /api/v1/downloads/{signed} – the bytes of an export file behind a signed link (Range, ETag; 403 once the link expires, 410 once the file does)
import { serveDownload } from '@/lib/export-api/download';
import { parsePathParams } from '@/lib/export-api/params';
import { downloadParamsSchema } from '@/lib/export-api/schemas';
import { AppError } from '@/lib/http/errors';
import { withRequest, type RequestContext } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

async function download(req: Request, ctx: RequestContext): Promise<Response> {
  const { signed } = parsePathParams(ctx.params, downloadParamsSchema, () => new AppError('forbidden', 'This download link is not valid.'));
  return serveDownload(ctx.database().db, req, signed);
}

export const GET = withRequest(download);
export const HEAD = withRequest(download);
