// Operations: the heartbeat every jobs worker writes, so the web (readiness, the connections
// page) and `dde status` can tell whether exports are running at all.
import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const workerHeartbeats = pgTable(
  'worker_heartbeats',
  {
    /** host:pid:random, fixed for the life of one worker process. */
    id: text('id').primaryKey(),
    hostname: text('hostname').notNull(),
    pid: integer('pid').notNull(),
    version: text('version').notNull(),
    startedAt: ts('started_at').notNull().defaultNow(),
    seenAt: ts('seen_at').notNull().defaultNow(),
    /** Set when the worker stopped cleanly; a crashed worker just stops being seen. */
    stoppedAt: ts('stopped_at'),
  },
  (t) => [index('worker_heartbeats_seen_idx').on(t.seenAt)],
);
export type WorkerHeartbeat = typeof workerHeartbeats.$inferSelect;
