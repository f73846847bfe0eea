// pg-boss set-up shared by the worker and by code that enqueues work (web routes, CLI, tests).
import PgBoss from 'pg-boss';

/** Every queue the product uses, with explicit retry options (pg-boss defaults differ between docs and code). */
export const QUEUE_OPTIONS = {
  'plan-windows': { retryLimit: 0, expireInSeconds: 120, policy: 'singleton' },
  'export-run': { retryLimit: 5, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600 },
  'deliver-run': { retryLimit: 0, expireInSeconds: 3600 }, // delivery retries are ours (deliveries table, backoff)
  notify: { retryLimit: 5, retryDelay: 60, retryBackoff: true, expireInSeconds: 300 },
  'expire-files': { retryLimit: 2, retryDelay: 60, expireInSeconds: 1800, policy: 'singleton' },
  'connection-health': { retryLimit: 2, retryDelay: 300, expireInSeconds: 1800, policy: 'singleton' },
  'webhook-deliver': { retryLimit: 0, expireInSeconds: 1800 }, // webhook retries are ours (webhook_deliveries, backoff)
} as const satisfies Record<string, Omit<PgBoss.Queue, 'name'>>;

export type QueueName = keyof typeof QUEUE_OPTIONS;
export const QUEUE_NAMES = Object.keys(QUEUE_OPTIONS) as QueueName[];

export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: 'pgboss', max: 8, application_name: 'dde-jobs' });
}

/** Creates the queues (idempotent). */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  for (const name of QUEUE_NAMES) {
    if (!existing.has(name)) await boss.createQueue(name, { name, ...QUEUE_OPTIONS[name] });
  }
}
