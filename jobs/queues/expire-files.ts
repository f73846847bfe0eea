// expire-files (hourly): delete the bytes of files past retention; keep their records, marked expired.
import { expireFiles } from '@/lib/runs/expire';
import type { QueueContext } from './context';

export const queue = 'expire-files';

export async function handle(ctx: QueueContext): Promise<void> {
  const n = await expireFiles(ctx.database);
  if (n) ctx.log.info({ files: n }, 'expired files deleted');
}
