// Query strings and bodies of the management API (zod), shared by the route handlers and tests.
import { z } from 'zod';
import { EXPORT_TYPES, FILE_TYPES, RUN_STATUSES } from '@/db/schema';
import { runStatusDoc } from '@/lib/runs/vocabulary';
import {
  hostKeyFingerprintSchema,
  pgpPublicKeySchema,
  sftpAuthSchema,
  sftpDestinationFields,
  withServerAddress,
} from '@/lib/connections/schemas';
import { cursorParam, limitParam } from '@/lib/http/params';
import { rangeEndOf, rangeStartOf } from '@/lib/windows/days';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

/**
 * A `from`/`to` query value: a day (YYYY-MM-DD, UTC) or an exact ISO 8601 date-time. A day is
 * included whole in both places (lib/windows/days.ts): from=2026-11-01&to=2026-11-30 is November.
 */
const rangeParam = (name: string, end: boolean) =>
  z
    .union([z.iso.date(), z.iso.datetime({ offset: true })], { error: `${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time` })
    .transform(end ? rangeEndOf : rangeStartOf)
    .refine(
      (d) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1970 && d.getUTCFullYear() <= 9999,
      `${name} must be between 1970 and 9999`,
    );
const fromParam = (what: string) =>
  rangeParam('from', false).describe(`${what} from this day (its 00:00 UTC on) or from this exact instant.`);
const toParam = (what: string) =>
  rangeParam('to', true).describe(
    `${what} up to this day, included whole (up to the next day’s 00:00 UTC), or up to this exact instant (not included).`,
  );

const limit = limitParam(MAX_LIMIT, DEFAULT_LIMIT);

/** One value, or a comma-separated list / repeated parameter, each one of `values`. */
const oneOrMany = <T extends readonly [string, ...string[]]>(values: T, name: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values, { error: `${name} must be one of ${values.join(', ')}` })));

const cursor = cursorParam;

export const listRunsQuery = z.object({
  status: oneOrMany(RUN_STATUSES, 'status')
    .optional()
    .describe(`Only runs in these statuses (comma-separated or repeated). ${runStatusDoc()}`),
  file_type: z.enum(FILE_TYPES, { error: `file_type must be one of ${FILE_TYPES.join(', ')}` }).optional(),
  export_type: z.enum(EXPORT_TYPES, { error: `export_type must be one of ${EXPORT_TYPES.join(', ')}` }).optional(),
  from: fromParam('Runs whose window reaches').optional(),
  to: toParam('Runs whose window starts').optional(),
  limit,
  cursor,
});

/** The Completeness table: one export type's windows, newest first. */
export const completenessQuery = z.object({
  export_type: z
    .enum(EXPORT_TYPES, { error: `export_type must be one of ${EXPORT_TYPES.join(', ')}` })
    .default('incremental')
    .describe('Scheduled windows (incremental), or historical chunks.'),
  limit,
  cursor,
});

export const statsQuery = z.object({
  days: z.coerce
    .number({ error: 'days must be a number between 1 and 366' })
    .int('days must be a whole number')
    .min(1, 'days must be between 1 and 366')
    .max(366, 'days must be between 1 and 366')
    .default(30),
});

export const activityQuery = z.object({
  kind: z
    .enum(['audit', 'delivery_errors', 'all'], { error: 'kind must be "audit", "delivery_errors" or "all"' })
    .default('audit')
    .describe(
      'audit: the changes people and DDE made; delivery_errors: the failed deliveries; all: both, newest first (what the Activity Log page shows by default; `action=delivery.failed` keeps the failures).',
    ),
  action: z
    .union([z.string(), z.array(z.string())])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().max(100)).max(50))
    .optional(),
  target_type: z.string().max(100).optional(),
  target_id: z.string().max(200).optional(),
  from: fromParam('Entries').optional(),
  to: toParam('Entries').optional(),
  limit,
  cursor,
});

/** The event history as CSV: the list's filters, every matching run (no paging). */
export const runsCsvQuery = listRunsQuery.omit({ limit: true, cursor: true });

/** The Activity Log as CSV: the list's filters, every matching entry (no paging). */
export const activityCsvQuery = activityQuery.omit({ limit: true, cursor: true });

/** The columns of the Activity Log's CSV download (before, after and details as JSON). */
export const ACTIVITY_CSV_COLUMNS = [
  'at',
  'actor',
  'action',
  'target_type',
  'target_id',
  'target_name',
  'connection_id',
  'before',
  'after',
  'details',
] as const;

/** The columns of the event history's CSV download. */
export const RUNS_CSV_COLUMNS = [
  'run_id',
  'window_start',
  'window_end',
  'type',
  'status',
  'rows',
  'bytes',
  'files',
  'file_names',
  'destination',
  'delivery_attempts',
  'error_code',
  'error_message',
  'created_at',
  'started_at',
  'finished_at',
  'historical_request_id',
] as const;

/** "Test connection" before set-up: the SFTP fields of a connection, and optionally the fingerprint to expect. */
export const testConnectionBody = z
  .object({
    ...sftpDestinationFields,
    auth: sftpAuthSchema,
    host_key_fingerprint: hostKeyFingerprintSchema.optional(),
  })
  .strict()
  .transform(withServerAddress);

/** "Check key" in SFTP set-up: an OpenPGP public key to read, so the admin can confirm its fingerprint. */
export const pgpKeyBody = z
  .object({ public_key: pgpPublicKeySchema.describe('The armored OpenPGP public key ("-----BEGIN PGP PUBLIC KEY BLOCK-----" …).') })
  .strict();
