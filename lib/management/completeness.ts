// The connection page's Completeness table: each window of one connection and export type, newest
// first, as the export API's reconciliation shows it (lib/export-api/reconciliation.ts windowView),
// and what a receiver would check on its side: whether it was delivered, whether its manifest's
// signature holds against the published keys, and each gap named — sequence numbers or time missing
// before it, a window not delivered, rows the source held that the files lack, a bad signature.
import { Readable } from 'node:stream';
import type { Db } from '@/db/client';
import { listFilesOfRuns, listRunsForReconciliation } from '@/db/queries/runs';
import { listSigningKeys } from '@/db/queries/signing-keys';
import { kindPushes, type Connection, type ExportRun } from '@/db/schema';
import { now } from '@/lib/clock';
import { isExpired } from '@/lib/export-api/files';
import { windowCursor, windowView, type WindowView } from '@/lib/export-api/reconciliation';
import { keysFromJwks, verifyManifestSignature } from '@/lib/exports/signing';
import { pageOf } from '@/lib/http/page';
import type { PageOf } from '@/lib/http/schemas';
import { childLogger } from '@/lib/logger';
import { getStorage, type Storage } from '@/lib/storage';
import type { CompletenessWindow } from './responses';
import type { completenessQuery } from './schemas';
import type { z } from 'zod';

type Problem = CompletenessWindow['problems'][number];
type Signature = Pick<CompletenessWindow, 'signature_state' | 'signature_key'> & { problem: string | null };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

const fmt = (iso: string) => iso.replace('.000Z', 'Z');
const n = (v: number) => v.toLocaleString('en-US');

/** A window delivered: pushed and acknowledged by its destination, or published in the feed; an empty one alike. */
function isDelivered(status: ExportRun['status'], pushes: boolean): boolean {
  return pushes ? status === 'delivered' || status === 'empty' : status === 'available' || status === 'empty';
}

/** The gaps and faults of window `w`, given the window before it in its sequence (null when it is the first listed). */
export function problemsOf(w: WindowView, before: WindowView | null, signature: Signature, oldest: boolean): Problem[] {
  const out: Problem[] = [];
  const sameSequence = before && before.export_type === w.export_type && before.historical_request_id === w.historical_request_id;
  if (w.sequence !== null) {
    const from = sameSequence && before.sequence !== null ? before.sequence + 1 : oldest ? 1 : null;
    if (from !== null && from < w.sequence) {
      const missing = from === w.sequence - 1 ? `Sequence ${from} is` : `Sequences ${from}–${w.sequence - 1} are`;
      out.push({ code: 'sequence_gap', message: `${missing} missing before this window.` });
    }
  }
  if (sameSequence && before.window_end !== w.window_start) {
    out.push({
      code: 'time_gap',
      message: `No window covers ${fmt(before.window_end)} – ${fmt(w.window_start)} before this one.`,
    });
  }
  if (w.status === 'failed' || w.status === 'cancelled') {
    out.push({ code: 'not_delivered', message: w.status === 'failed' ? 'Not delivered: the run failed.' : 'Not delivered: cancelled.' });
  }
  if (w.source_rows !== null && w.rows !== null && w.source_rows !== w.rows) {
    out.push({
      code: 'rows_differ',
      message: `The source held ${n(w.source_rows)} rows when the window was exported; its files hold ${n(w.rows)}.`,
    });
  }
  if (signature.problem) out.push({ code: 'signature', message: signature.problem });
  return out;
}

/** The manifest's signature checked against its stored bytes and the published keys. */
async function checkSignature(
  w: WindowView,
  manifestKey: string | undefined,
  expired: boolean,
  keys: ReturnType<typeof keysFromJwks>,
  storage: Storage,
): Promise<Signature> {
  if (!w.manifest || !manifestKey) return { signature_state: 'pending', signature_key: null, problem: null };
  if (!w.manifest.signature) return { signature_state: 'unsigned', signature_key: null, problem: 'The manifest is not signed.' };
  const kid = (() => {
    try {
      return (JSON.parse(w.manifest.signature) as { kid?: string }).kid ?? null;
    } catch {
      return null;
    }
  })();
  if (expired) return { signature_state: 'expired', signature_key: kid, problem: null };
  let bytes: Buffer;
  try {
    bytes = await readAll(await storage.get(manifestKey));
  } catch (err) {
    childLogger({ module: 'completeness' }).warn({ err, key: manifestKey }, 'could not read a manifest to check its signature');
    return { signature_state: 'unavailable', signature_key: kid, problem: null };
  }
  const check = verifyManifestSignature(bytes, w.manifest.signature, keys);
  return check.ok
    ? { signature_state: 'verified', signature_key: check.kid, problem: null }
    : { signature_state: 'invalid', signature_key: check.kid, problem: `The manifest’s signature does not hold: ${check.problem}.` };
}

export async function completenessOf(
  db: Db,
  params: { programId: number; connection: Connection; query: z.infer<typeof completenessQuery>; storage?: Storage },
): Promise<PageOf<CompletenessWindow>> {
  const { connection, query } = params;
  const storage = params.storage ?? getStorage();
  const after = query.cursor ? windowCursor.decode(query.cursor) : undefined;
  // One row past the page: it says there is more, and it is the window before the page's last one.
  const runs = await listRunsForReconciliation(db, {
    programId: params.programId,
    connectionId: connection.id,
    exportType: query.export_type,
    after: after ?? undefined,
    limit: query.limit + 1,
    order: 'desc',
  });
  const page = pageOf(runs, query.limit, windowCursor, (r) => ({ windowStart: r.windowStart.toISOString(), id: r.id }));
  const files = await listFilesOfRuns(db, { programId: params.programId, runIds: runs.map((r) => r.id) });
  const keys = keysFromJwks({ keys: (await listSigningKeys(db)).map((k) => ({ kty: 'OKP', crv: 'Ed25519', x: k.publicKey, kid: k.id })) });
  const at = now();
  const pushes = kindPushes(connection.kind);
  const views = runs.map((r) => windowView(r, files, at));
  const data = await Promise.all(
    page.rows.map(async (r, i) => {
      const w = views[i];
      const manifest = files.find((f) => f.runId === r.id && f.fileType === 'manifest');
      const signature = await checkSignature(w, manifest?.storageKey, manifest ? isExpired(manifest, at) : false, keys, storage);
      const before = views[i + 1] ?? null;
      return {
        ...w,
        delivered: isDelivered(r.status, pushes),
        signature_state: signature.signature_state,
        signature_key: signature.signature_key,
        problems: problemsOf(w, before, signature, !before && !page.has_more),
      };
    }),
  );
  return { data, has_more: page.has_more, next_cursor: page.next_cursor };
}
