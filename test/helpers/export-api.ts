// Export API fixtures: programs with real generated runs (files in a temporary storage), API clients
// and tokens, and calling route handlers the way Next.js does.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { connections, exportRuns } from '@/db/schema';
import type { Scope } from '@/db/schema/auth';
import type { ExportFormat } from '@/db/schema/enums';
import { createApiClient } from '@/lib/auth/api-clients';
import { createApiToken } from '@/lib/auth/tokens';
import { generateRun, type GenerateRunResult } from '@/lib/exports';
import { seedProgram } from '@/lib/seed';
import { LocalStorage, setStorage } from '@/lib/storage';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { checkAnswer } from './api-answers';
import type { TestDatabase } from './db';

/** A fresh local storage the process's getStorage() serves from. */
export function useTempStorage(): { storage: LocalStorage; root: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dde-export-api-'));
  const storage = new LocalStorage(root);
  setStorage(storage);
  return { storage, root };
}

/**
 * Seeds a small program and generates one run of its data (users, campaigns, activity, manifest),
 * in an API connection that had exactly that window [until − 1 day, until): its newest closed window,
 * so `latest` answers this run's files.
 */
export async function programWithRun(
  t: TestDatabase,
  opts: { programId: number; name?: string; until: Date; storage: LocalStorage; events?: number; format?: ExportFormat },
): Promise<{ runId: string; connectionId: string; result: GenerateRunResult }> {
  await seedProgram(t, {
    programId: opts.programId,
    programName: opts.name,
    users: 40,
    campaigns: 6,
    events: opts.events ?? 3000,
    days: 1,
    until: opts.until,
    seed: opts.programId,
  });
  const window = { start: new Date(opts.until.getTime() - 86_400_000), end: opts.until };
  const [conn] = await t.db
    .insert(connections)
    .values({
      programId: opts.programId,
      kind: 'api',
      name: 'Daily warehouse feed',
      // Monthly windows cut by the start and end dates: the one window is the whole day (within a month).
      frequency: 'monthly',
      startDate: window.start,
      endDate: window.end,
      format: opts.format ?? 'csv',
    })
    .returning();
  return addRun(t, { programId: opts.programId, window, storage: opts.storage, format: opts.format, connectionId: conn.id });
}

/**
 * The program's API connection of that format (its feed), created daily from 2026-01-01 when there
 * is none yet: the runs a test adds land in one feed, as a real connection's would.
 */
export async function feedConnection(t: TestDatabase, programId: number, format: ExportFormat = 'csv'): Promise<string> {
  const [found] = await t.db
    .select({ id: connections.id })
    .from(connections)
    .where(
      and(eq(connections.programId, programId), eq(connections.kind, 'api'), eq(connections.format, format), isNull(connections.deletedAt)),
    )
    .orderBy(asc(connections.createdAt), asc(connections.id))
    .limit(1);
  if (found) return found.id;
  const [conn] = await t.db
    .insert(connections)
    .values({ programId, kind: 'api', frequency: 'daily', startDate: new Date('2026-01-01T00:00:00Z'), format })
    .returning();
  return conn.id;
}

/** One more run of a program over `window` in its feed (or `connectionId`'s), generated into storage. */
export async function addRun(
  t: TestDatabase,
  opts: {
    programId: number;
    window: { start: Date; end: Date };
    storage: LocalStorage;
    format?: ExportFormat;
    exportType?: 'incremental' | 'historical';
    connectionId?: string;
  },
): Promise<{ runId: string; connectionId: string; result: GenerateRunResult }> {
  const conn = { id: opts.connectionId ?? (await feedConnection(t, opts.programId, opts.format)) };
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId: conn.id,
      programId: opts.programId,
      exportType: opts.exportType ?? 'incremental',
      windowStart: opts.window.start,
      windowEnd: opts.window.end,
    })
    .returning();
  const result = await generateRun(t, run.id, { storage: opts.storage });
  return { runId: run.id, connectionId: conn.id, result };
}

/** An API client of a program and a bearer token issued to it. */
export async function clientToken(
  t: TestDatabase,
  programId: number,
  scopes: Scope[] = ['data_exports.read'],
  opts: { expiresAt?: Date; connectionIds?: string[] } = {},
) {
  const connectionIds = opts.connectionIds ?? [await feedConnection(t, programId)];
  const { client, clientSecret } = await createApiClient(t, {
    programId,
    connectionIds,
    name: `client ${programId}`,
    scopes: scopes.length ? scopes : ['data_exports.read'],
    author: { accountId: null, label: 'test' },
  });
  const { token, row } = await createApiToken(t.db, {
    kind: 'client',
    apiClientId: client.id,
    programId,
    scopes,
    expiresAt: opts.expiresAt ?? null,
  });
  return { client, clientSecret, token, tokenRow: row };
}

/** Calls a route handler as Next.js would (the request and a promise of the path parameters), and checks the answer against the API's schemas. */
export async function call<P extends Record<string, string>>(handler: RouteHandler, req: Request, params: P = {} as P): Promise<Response> {
  const res = await handler(req, { params: Promise.resolve(params) });
  await checkAnswer(req.method, req.url, res);
  return res;
}

export type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> }; request_id: string };
