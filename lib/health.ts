// Liveness and database reachability for GET /api/health. Answers within a few seconds, never hangs.
import { getDatabase } from '@/db/client';
import pkg from '@/package.json';

export const HEALTH_TIMEOUT_MS = 3000;

export type Health = { status: 'ok'; db: 'ok'; version: string } | { status: 'error'; db: 'unreachable'; reason: string; version: string };

export async function checkHealth(timeoutMs = HEALTH_TIMEOUT_MS): Promise<Health> {
  const version = pkg.version;
  let timer: NodeJS.Timeout | undefined;
  try {
    const { sql } = getDatabase();
    await Promise.race([
      sql`select 1`,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return { status: 'ok', db: 'ok', version };
  } catch (err) {
    return { status: 'error', db: 'unreachable', reason: reasonOf(err), version };
  } finally {
    clearTimeout(timer);
  }
}

/** A short, secret-free reason: connection strings are never echoed. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/postgres(ql)?:\/\/[^\s]+/gi, '(database URL)').slice(0, 300);
}
