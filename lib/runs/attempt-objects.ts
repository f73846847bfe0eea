// Clean-up of export attempts' objects that no record points at. Each export attempt writes into a
// folder of its own inside its run's folder (`<program>/<run>/a<claim>-<tag>/`); once a publish has
// pointed the run's records at one attempt's folder, the others are leftovers: of a worker killed
// mid-export, of one stopped and superseded (its claim moved on), of an earlier export of the run.
// A folder that a live record points at is never touched. Called when a run settles (after a
// publish, by a superseded attempt for its own folder) and by the hourly expiry as a backstop.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '@/db/client';
import { attemptClaimOf, runKeyPrefix, sidecarKey } from '@/lib/exports';
import { childLogger } from '@/lib/logger';
import type { Storage } from '@/lib/storage';

export type AttemptSelection =
  /** Folders of attempts whose claim is below this one (older attempts), and the old layout's hidden temporaries. */
  | { below: number }
  /** The folder(s) of this one claim (an attempt cleaning up after itself). */
  | { only: number };

/**
 * Removes the objects of the run's attempt folders chosen by `which` that no unexpired export_files
 * record points at. Answers the keys removed. Best effort: a storage error is logged, not thrown.
 */
export async function sweepAttemptObjects(
  database: Database,
  storage: Storage,
  run: { programId: number; runId: string },
  which: AttemptSelection,
): Promise<string[]> {
  const log = childLogger({ module: 'runs', runId: run.runId });
  const prefix = runKeyPrefix(run.programId, run.runId);
  try {
    const records = await database.sql<{ storage_key: string; file_type: string }[]>`
      select storage_key, file_type from export_files where run_id = ${run.runId} and not expired`;
    const referenced = new Set(
      records.flatMap((r) => (r.file_type === 'manifest' ? [r.storage_key] : [r.storage_key, sidecarKey(r.storage_key)])),
    );
    const chosen = (claim: number) => ('only' in which ? claim === which.only : claim < which.below);

    const keys = await storage.list(prefix);
    const folders = new Map<string, string[]>();
    const loose: string[] = [];
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) loose.push(key);
      else folders.set(rest.slice(0, slash), [...(folders.get(rest.slice(0, slash)) ?? []), key]);
    }
    // The local backend hides a put cut short (a partial file): its folder is found on disk.
    const runDir = storage.localPath(prefix.slice(0, -1));
    if (runDir) {
      for (const e of await readdir(runDir, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory() && !folders.has(e.name)) folders.set(e.name, []);
    }

    const removed: string[] = [];
    for (const [folder, inside] of folders) {
      const claim = attemptClaimOf(folder);
      if (claim === null || !chosen(claim)) continue;
      if (inside.some((k) => referenced.has(k))) continue; // a record points into it: it stays
      await Promise.all(inside.map((k) => storage.delete(k)));
      const dir = storage.localPath(prefix + folder);
      if (dir) await rm(dir, { recursive: true, force: true });
      removed.push(...inside);
    }
    // The layout before attempt folders kept temporaries as hidden names in the run's folder.
    if (!('only' in which)) {
      const stale = loose.filter((k) => !referenced.has(k) && k.slice(prefix.length).startsWith('.'));
      await Promise.all(stale.map((k) => storage.delete(k)));
      removed.push(...stale);
      if (runDir) {
        const hidden = (await readdir(runDir).catch(() => [] as string[])).filter((n) => n.startsWith('.') && !referenced.has(prefix + n));
        await Promise.all(hidden.map((n) => rm(path.join(runDir, n), { force: true })));
      }
    }
    if (removed.length) log.debug({ removed: removed.length }, 'removed the objects of export attempts no record points at');
    return removed;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not remove the objects of earlier export attempts');
    return [];
  }
}
