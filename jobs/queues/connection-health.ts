// connection-health (daily): test every active SFTP connection against its pinned host key; a
// failure emails the connection's contacts ("connection issue") before the next delivery fails.
import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { connections } from '@/db/schema';
import { now } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import { testConnection } from '@/lib/delivery';
import { composeConnectionIssue, describeSftpDestination, recordNotification } from '@/lib/notify';
import { send } from '@/jobs/boss';
import type { QueueContext } from './context';
import { connectionDisplayName, sftpDestinationOf } from '@/lib/connections/describe';

export const queue = 'connection-health';
export const cron = '17 6 * * *';
export const payloadSchema = z.object({});

export async function handle(ctx: QueueContext): Promise<void> {
  const list = await ctx.database.db
    .select()
    .from(connections)
    .where(and(eq(connections.kind, 'sftp'), eq(connections.status, 'active'), isNull(connections.deletedAt)));
  for (const c of list) {
    if (ctx.shutdown.aborted) return;
    const destination = sftpDestinationOf(c);
    const report = await testConnection({
      ...destination,
      auth: decryptSecret(c.secretCiphertext!, c.id),
      expectedFingerprint: c.hostKeyFingerprint!,
      signal: ctx.shutdown,
    });
    await ctx.database.db.update(connections).set({ lastTestedAt: now() }).where(eq(connections.id, c.id));
    if (report.ok || !report.error || c.contactEmails.length === 0) continue;
    const email = composeConnectionIssue({
      connectionName: connectionDisplayName(c),
      destination: describeSftpDestination(destination),
      checkedAt: now(),
      error: report.error,
    });
    const note = await recordNotification(ctx.database, {
      kind: 'connection_issue',
      to: c.contactEmails,
      subject: email.subject,
      body: email.text,
      programId: c.programId,
      connectionId: c.id,
    });
    await send(ctx.boss, 'notify', { notificationId: note.id });
    ctx.log.warn({ connectionId: c.id, code: report.error.code }, 'connection health check failed');
  }
}
