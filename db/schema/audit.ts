// The Activity Log (who changed what, when) and the notification outbox.
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './auth';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    programId: bigint('program_id', { mode: 'number' }),
    actorId: uuid('actor_id').references(() => accounts.id),
    /** Who, as shown in the Activity Log: an email, an API client, or "system". */
    actorLabel: text('actor_label').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    details: jsonb('details'),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('audit_log_program_at_idx').on(t.programId, t.at)],
);
export type AuditEntry = typeof auditLog.$inferSelect;

export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    programId: bigint('program_id', { mode: 'number' }),
    connectionId: uuid('connection_id'),
    runId: uuid('run_id'),
    kind: text('kind').notNull(),
    /** One message per occurrence (e.g. a run's failure at a given time); null = no de-duplication. */
    dedupeKey: text('dedupe_key'),
    to: text('to').array().notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: ['pending', 'sent', 'written', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (t) => [index('notifications_status_idx').on(t.status), uniqueIndex('notifications_dedupe_unique').on(t.dedupeKey)],
);
export type Notification = typeof notifications.$inferSelect;
