// Response shapes every API area shares: the error body, an instant, a page. Client-safe (zod
// only), so components can import the types inferred from them.
import { z } from 'zod';
import { COMPRESSIONS, FILE_FORMATS, FILE_TYPES } from '@/db/schema/enums';

/** An instant in an answer: ISO 8601, UTC. */
export const instantSchema = z.iso.datetime().describe('ISO 8601 date-time (UTC)');

/**
 * What every answer says of an export file — the export API's files and folders, a run's files in
 * the management API — in one schema; each view extends it with its own fields.
 */
export const exportFileFieldsSchema = z.object({
  id: z.guid(),
  name: z.string().describe('e.g. 4021-11-28-2026-08-activity-incremental.gz'),
  file_type: z.enum(FILE_TYPES).describe('The file type as it appears in the name.'),
  rows: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string().describe('SHA-256 of the stored bytes, hex. Also the download ETag.'),
  format: z.enum(FILE_FORMATS),
  compression: z.enum(COMPRESSIONS),
});

/** The answer of one thing: `{ data: item }`. */
export const dataSchema = <S extends z.ZodType>(item: S) => z.object({ data: item });
/** The answer of a whole (short) list: `{ data: [item, …] }`. */
export const listSchema = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item) });
/**
 * What an answer holds, typed from its schema: `api<Answer<typeof connectionResponse>>(…)`. The
 * pages name the response schema (a type-only import), never the envelope by hand.
 */
export type Answer<S extends z.ZodType> = z.output<S>;
/** The answers of dataSchema / listSchema for code generic over the item (one list component for tokens and clients). */
export type DataOf<T> = Answer<ReturnType<typeof dataSchema<z.ZodType<T>>>>;
export type ListOf<T> = Answer<ReturnType<typeof listSchema<z.ZodType<T>>>>;

/** A page of a list: pass next_cursor as cursor for the next page until it is null. */
export const pageSchema = <S extends z.ZodType>(item: S) =>
  z.object({
    data: z.array(item),
    has_more: z.boolean().describe('True when there is a next page.'),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
  });
export type PageOf<T> = { data: T[]; has_more: boolean; next_cursor: string | null };

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('unauthorized, forbidden, not_found, gone, validation_failed, rate_limited, …'),
      message: z.string(),
      details: z.unknown().optional(),
    }),
    request_id: z.string(),
  })
  .describe('Every error, with the request id that identifies it in the logs.');
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
/** One refused field of a 422, in `details.fields`. */
export type FieldError = { path: string; message: string };
