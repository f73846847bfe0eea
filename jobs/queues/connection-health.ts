// connection-health (daily): test every active SFTP connection on its own (one that fails never
// stops the others), report a connection that starts failing or recovers, then send the daily
// digests of the connections that chose them. An encrypted connection's contacts also hear when its
// OpenPGP key is about to expire, and when it has.
import { checkConnections, sendDailyDigests, sendPendingNotifications } from '@/lib/notify';
import type { QueueContext } from './context';

export const queue = 'connection-health';

export async function handle(ctx: QueueContext): Promise<void> {
  const verdicts = await checkConnections(ctx.database, { signal: ctx.shutdown });
  const digests = await sendDailyDigests(ctx.database, { signal: ctx.shutdown });
  const failing = verdicts.filter((v) => !v.ok).length;
  ctx.log.info({ checked: verdicts.length, failing, digests }, 'daily connection check done');
  if (verdicts.some((v) => v.notificationId || v.pgpKey) || digests) await sendPendingNotifications(ctx.database, { limit: 200 });
}
