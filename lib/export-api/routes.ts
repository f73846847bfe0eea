// The Export API's three routes as web handlers, served as Pages Router API routes through
// lib/http/node-adapter.ts (pages/api/v1/data_exports/[type]/…): a pipeline polls them, and a Pages
// API route skips the App Router's per-request handling (about a fifth of latest's cost, bench:api).
//   GET /api/v1/data_exports/{type}            one API connection's available files of a type, newest first, cursor-paginated
//   GET /api/v1/data_exports/{type}/latest     the file of the connection's newest closed window, with a signed download link
//   GET /api/v1/data_exports/{type}/{file_id}  one file of the feed: metadata and a signed download link (410 once expired)
import { jsonWithEtag } from '@/lib/export-api/etag';
import { resolveFeed } from '@/lib/export-api/feed';
import { getExportFile, latestExportFile, pageExportFiles } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import {
  feedQuerySchema,
  fileParamsSchema,
  latestQuerySchema,
  listFilesQuerySchema,
  PATH_NOT_FOUND,
  typeParamsSchema,
} from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

const EXPORT_API = {
  permission: 'exports.download',
  scope: 'data_exports.read',
  rateLimit: true,
  program: 'required',
  clientFeed: true,
} as const;

export const listFiles = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, listFilesQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const page = await pageExportFiles(db, { programId: program, feed, type, query, base: linkBase(req, requestedProgram) });
  return jsonWithEtag(req, page);
}, EXPORT_API);

export const latestFile = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, latestQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const answer = await latestExportFile(db, {
    programId: program,
    feed,
    type,
    exportType: query.export_type,
    base: linkBase(req, requestedProgram),
  });
  return jsonWithEtag(req, answer);
}, EXPORT_API);

export const fileMetadata = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type, file_id: fileId } = parsePathParams(params, fileParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, feedQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const data = await getExportFile(db, { programId: program, feed, type, fileId, base: linkBase(req, requestedProgram) });
  return jsonWithEtag(req, { data });
}, EXPORT_API);
