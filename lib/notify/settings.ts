// A connection's notification settings: which runs its contacts hear about, and after how many
// consecutive failed windows it pauses itself. They can change in any status (they are not part of
// the schedule); every change goes to the Activity Log.
import type { Database, DbOrTx } from '@/db/client';
import { changeConnection } from '@/db/queries/connections';
import { kindPushes, type Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { autoPauseReason, consecutiveFailedWindows, reportModeOf } from './run-events';

import type { NotificationSettingsInput } from '@/lib/webhooks/settings-input';

export async function notificationSettingsJson(db: DbOrTx, c: Connection) {
  const paused = await autoPauseReason(db, c);
  return {
    connection_id: c.id,
    report_mode: reportModeOf(c),
    report_mode_is_default: c.reportMode === null,
    auto_pause_after: c.autoPauseAfter,
    consecutive_failed_windows: await consecutiveFailedWindows(db, c.id, Math.max(c.autoPauseAfter, 10)),
    health: kindPushes(c.kind) ? { status: c.healthStatus, last_checked_at: c.lastTestedAt } : null,
    auto_paused: paused ? { at: paused.at, reason: paused.reason } : null,
  };
}

export async function updateNotificationSettings(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: NotificationSettingsInput,
): Promise<Connection> {
  const updated = await changeConnection(database.db, {
    programId,
    id,
    action: 'connection.notifications_changed',
    by: { actorId: actor.accountId, actorLabel: actor.label },
    at: now(),
    decide: () => ({
      ...(input.report_mode !== undefined ? { reportMode: input.report_mode } : {}),
      ...(input.auto_pause_after !== undefined ? { autoPauseAfter: input.auto_pause_after } : {}),
    }),
    describe: (c) => ({ report_mode: reportModeOf(c), auto_pause_after: c.autoPauseAfter }),
  });
  if (!updated) throw new AppError('not_found', 'Connection not found.');
  return updated;
}
