// Retention: files past their expiry lose their bytes; their records stay, marked expired, so the
// event history still shows what was delivered. The backstop of the attempt clean-up runs here too:
// once every file of a run has expired, whatever else is left in the run's folder (the objects of an
// attempt that was stopped, superseded and killed before it removed its own) goes as well.
import type { Database } from '@/db/client';
import { listFilesToExpire, listRunsWithAllFilesExpired, markFilesExpired } from '@/db/queries/export-files';
import { now } from '@/lib/clock';
import { sidecarKey } from '@/lib/exports';
import { getStorage, type Storage } from '@/lib/storage';
import { sweepAttemptObjects } from './attempt-objects';

export async function expireFiles(database: Database, opts: { storage?: Storage; batch?: number } = {}): Promise<number> {
  const storage = opts.storage ?? getStorage();
  let total = 0;
  for (;;) {
    const rows = await listFilesToExpire(database.sql, { at: now(), limit: opts.batch ?? 500 });
    if (rows.length === 0) return total;
    for (const r of rows) {
      await storage.delete(r.storage_key);
      if (r.file_type !== 'manifest') await storage.delete(sidecarKey(r.storage_key));
    }
    await markFilesExpired(database.sql, { ids: rows.map((r) => r.id), at: now() });
    total += rows.length;
    // Runs whose files are now all expired: the attempt folders no record points at any more.
    const runIds = [...new Set(rows.map((r) => r.run_id))];
    const settled = await listRunsWithAllFilesExpired(database.sql, runIds);
    for (const run of settled) {
      await sweepAttemptObjects(
        database,
        storage,
        { programId: Number(run.program_id), runId: run.id },
        // Never the folder of an attempt exporting the run now (generating) or about to (its next claim).
        { below: run.status === 'generating' ? Number(run.claim) : Number(run.claim) + 1 },
      );
    }
  }
}
