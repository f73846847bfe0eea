// Creating a recurring data connection. API connections only for now: SFTP set-up (host-key pinning,
// encrypted credentials) arrives with the connection set-up issue and extends this schema.
import { z } from 'zod';
import type { Db } from '@/db/client';
import { findExistingProgramIds } from '@/db/queries/auth';
import { recordAudit } from '@/db/queries/audit';
import { insertConnection } from '@/db/queries/connections';
import { FORMATS, FREQUENCIES, type Connection } from '@/db/schema';
import { requireProgram, type Actor } from '@/lib/auth/actor';
import { AppError } from '@/lib/http/errors';

/** A calendar date (YYYY-MM-DD, midnight UTC) or an ISO timestamp with an offset. */
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'must be a date (YYYY-MM-DD) or an ISO 8601 timestamp' })
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v));

export const createConnectionSchema = z
  .object({
    program_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    kind: z.literal('api').default('api'),
    name: z.string().trim().min(1).max(200).optional(),
    frequency: z.enum(FREQUENCIES),
    start_date: instant,
    end_date: instant.nullable().optional(),
    contact_emails: z.array(z.email().max(320)).min(1, 'add at least one contact email').max(20),
    format: z.enum(FORMATS).default('csv'),
  })
  .strict()
  .refine((v) => !v.end_date || v.end_date.getTime() > v.start_date.getTime(), {
    path: ['end_date'],
    message: 'must be after start_date',
  });
export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;

/** The connection as the management API returns it (no secrets: there are none on API connections). */
export function connectionJson(c: Connection) {
  return {
    id: c.id,
    program_id: c.programId,
    kind: c.kind,
    name: c.name,
    status: c.status,
    frequency: c.frequency,
    format: c.format,
    start_date: c.startDate.toISOString(),
    end_date: c.endDate?.toISOString() ?? null,
    contact_emails: c.contactEmails,
    created_at: c.createdAt.toISOString(),
  };
}

/** Creates the connection and its Activity Log entry together: either both are written or neither. */
export async function createConnection(db: Db, actor: Actor, input: CreateConnectionInput): Promise<Connection> {
  requireProgram(actor, input.program_id);
  const [exists] = await findExistingProgramIds(db, [input.program_id]);
  if (exists === undefined) throw new AppError('not_found', `Program ${input.program_id} was not found.`);
  const contactEmails = [...new Set(input.contact_emails.map((e) => e.trim().toLowerCase()))];
  return db.transaction(async (tx) => {
    const connection = await insertConnection(tx, {
      programId: input.program_id,
      kind: input.kind,
      name: input.name ?? null,
      frequency: input.frequency,
      startDate: input.start_date,
      endDate: input.end_date ?? null,
      contactEmails,
      format: input.format,
      createdBy: actor.accountId,
    });
    await recordAudit(tx, {
      programId: connection.programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: 'connection.created',
      targetType: 'connection',
      targetId: connection.id,
      after: connectionJson(connection),
    });
    return connection;
  });
}
