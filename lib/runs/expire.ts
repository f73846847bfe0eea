// Retention: files past their expiry lose their bytes; their records stay, marked expired, so the
// event history still shows what was delivered.
import type { Database } from '@/db/client';
import { now } from '@/lib/clock';
import { sidecarKey } from '@/lib/exports';
import { getStorage, type Storage } from '@/lib/storage';

export async function expireFiles(database: Database, opts: { storage?: Storage; batch?: number } = {}): Promise<number> {
  const storage = opts.storage ?? getStorage();
  let total = 0;
  for (;;) {
    const rows = await database.sql<{ id: string; storage_key: string; name: string; file_type: string }[]>`
      select id, storage_key, name, file_type from export_files
      where not expired and expires_at <= ${now().toISOString()}::timestamptz
      order by expires_at limit ${opts.batch ?? 500}`;
    if (rows.length === 0) return total;
    for (const r of rows) {
      await storage.delete(r.storage_key);
      if (r.file_type !== 'manifest') await storage.delete(sidecarKey(r.storage_key));
    }
    await database.sql`update export_files set expired = true, expired_at = ${now().toISOString()}::timestamptz where id = any(${rows.map((r) => r.id)}::uuid[])`;
    total += rows.length;
  }
}
