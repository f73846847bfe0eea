// `dde pull` over HTTP only (the command gets no database): an API connection's windows are pulled
// through the real route handlers served on a loopback port, with a 429 storm on the folder list
// and a download, a server failing mid-pull (nothing unverified kept, the state not moved), a
// resumed pull that fetches only what is new (an empty window's manifest included), and
// `dde verify` passing on the result against the keys the server publishes.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as tokenRoute } from '@/app/api/oauth/token/route';
import { GET as signingKeysRoute } from '@/app/api/v1/signing-keys/route';
import { connections, exportRuns } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { GET as downloadRoute } from '@/pages/api/v1/downloads/[signed]';
import { GET as foldersRoute } from '@/pages/api/v1/folders';
import { useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken } from './helpers/export-api';
import { GET as reconcileRoute } from '@/pages/api/v1/data_exports/reconciliation';

const PROGRAM = 78;
const seededUntil = new Date('2026-11-20T00:00:00Z');

let t: TestDatabase;
let dataDir: string;
let out: string;
let server: Server;
let base: string;
let connectionId: string;
let clientId: string;
let clientSecret: string;
let token: string;
/** Faults the server injects: 429s still to answer per route, and names whose download fails. */
const faults = { folders429: 0, download429: 0, failing: null as RegExp | null };
const seen: string[] = [];

async function toRequest(req: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  return new Request(`${base}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
}

async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  seen.push(`${req.method} ${url.pathname}`);
  const params = { params: Promise.resolve({}) };
  if (url.pathname === '/api/oauth/token' && req.method === 'POST') return tokenRoute(req, params);
  if (url.pathname === '/api/v1/signing-keys') return signingKeysRoute(req, params);
  if (url.pathname === '/api/v1/folders') {
    if (faults.folders429 > 0) {
      faults.folders429--;
      return new Response('{"error":{"code":"rate_limited","message":"slow down"}}', { status: 429, headers: { 'retry-after': '1' } });
    }
    return foldersRoute(req, params);
  }
  const download = /^\/api\/v1\/downloads\/(.+)$/.exec(url.pathname);
  if (download) {
    if (faults.download429 > 0) {
      faults.download429--;
      return new Response('', { status: 429, headers: { 'retry-after': '1' } });
    }
    const res = await downloadRoute(req, { params: Promise.resolve({ signed: decodeURIComponent(download[1]) }) });
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? '';
    if (faults.failing?.test(name)) return new Response('{"error":{"code":"internal","message":"disk on fire"}}', { status: 500 });
    return res;
  }
  return new Response('not here', { status: 404 });
}

/** The CLI with no database in its environment: pull and verify need only HTTP and the folder. */
function dde(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const pullArgs = () => [
  'pull',
  '--url',
  base,
  '--client-id',
  clientId,
  '--client-secret',
  clientSecret,
  '--connection',
  connectionId,
  '--out',
  out,
];

async function exportDue(at: Date) {
  setClock(at);
  await planWindows(t, { now: at, settleMs: 5 * 60_000 });
  const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId));
  for (const r of runs.filter((x) => x.status === 'planned'))
    expect(['available', 'empty']).toContain((await executeExportRun(t, r.id)).status);
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-pull-data-'));
  out = mkdtempSync(path.join(os.tmpdir(), 'dde-pull-out-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 50, campaigns: 4, events: 2000, days: 1, seed: 5, until: seededUntil });
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'every_4_hours', startDate: new Date('2026-11-19T16:00:00Z') })
    .returning();
  connectionId = c.id;
  const client = await clientToken(t, PROGRAM, ['data_exports.read'], { connectionIds: [connectionId] });
  clientId = client.client.clientId;
  clientSecret = client.clientSecret;
  token = client.token;
  server = createServer((req, res) => {
    toRequest(req)
      .then(route)
      .then(async (r) => {
        res.writeHead(r.status, Object.fromEntries(r.headers));
        if (r.body) Readable.fromWeb(r.body as never).pipe(res);
        else res.end();
      })
      .catch((err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await exportDue(new Date(seededUntil.getTime() + 10 * 60_000)); // two windows with data
}, 180_000);
afterAll(async () => {
  resetClock();
  await new Promise((r) => server?.close(r));
  await t?.drop();
  for (const d of [dataDir, out]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('dde pull', () => {
  it('pulls every window through a 429 storm, waiting as the server asks, and saves its state', async () => {
    faults.folders429 = 3;
    faults.download429 = 2;
    const r = await dde(pullArgs());
    console.log(`dde pull (exit ${r.code}):\n${r.stderr}${r.stdout}`);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('pull: waiting 1 s (folder list: 429)');
    expect(r.stderr).toMatch(/pull: waiting 1 s \(\d+-11-19-2026-16-\w+-incremental\.\w+: 429\)/);
    expect(r.stderr).toContain('pull: 2 folder(s) listed, 2 to pull');
    expect(r.stdout).toMatch(/^Pulled 2 window\(s\), 6 file\(s\), [\d,]+ bytes into .+ \(waited 5 s as the server asked\)\.\n$/);
    const names = readdirSync(out).sort();
    expect(names.filter((n) => n.includes('-manifest-') && n.endsWith('.json'))).toEqual([
      `${PROGRAM}-11-19-2026-16-manifest-incremental.json`,
      `${PROGRAM}-11-19-2026-20-manifest-incremental.json`,
    ]);
    expect(names.some((n) => n.includes('.part-'))).toBe(false);
    const state = JSON.parse(readFileSync(path.join(out, '.dde-pull.json'), 'utf8'));
    expect(Object.keys(state.pulled)).toHaveLength(2);
  });

  it('exits non-zero naming the file when the server fails mid-pull, keeps nothing unverified, then resumes with only what is new', async () => {
    await exportDue(new Date(seededUntil.getTime() + 4 * 3_600_000 + 10 * 60_000)); // an empty window
    faults.failing = /-manifest-/;
    const failed = await dde(pullArgs());
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(
      new RegExp(
        `dde: ${PROGRAM}-11-20-2026-00-manifest-incremental\\.json: 500 disk on fire\\. Nothing unverified was kept; run dde pull again to carry on\\.\\n$`,
      ),
    );
    expect(readdirSync(out).filter((n) => n.startsWith(`${PROGRAM}-11-20-2026-00`) || n.includes('.part-'))).toEqual([]);
    expect(Object.keys(JSON.parse(readFileSync(path.join(out, '.dde-pull.json'), 'utf8')).pulled)).toHaveLength(2);

    faults.failing = null;
    seen.length = 0;
    const resumed = await dde(pullArgs());
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('pull: 3 folder(s) listed, 1 to pull');
    expect(resumed.stdout).toMatch(/^Pulled 1 window\(s\), 1 file\(s\), /);
    // Only the new window's manifest was downloaded: the earlier windows' files were not fetched again.
    expect(seen.filter((s) => s.startsWith('GET /api/v1/downloads/'))).toHaveLength(1);
    const empty = JSON.parse(readFileSync(path.join(out, `${PROGRAM}-11-20-2026-00-manifest-incremental.json`), 'utf8'));
    expect(empty).toMatchObject({ sequence: 3, rows: 0, files: [] });

    const again = await dde(pullArgs());
    expect(again.stdout).toMatch(/^Pulled 0 window\(s\), 0 file\(s\), 0 bytes/);
  });

  it('leaves a folder that dde verify passes against the keys the server publishes', async () => {
    const r = await dde(['verify', out, '--keys', `${base}/api/v1/signing-keys`]);
    console.log(`dde verify on the pulled folder (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 manifests, [\d,]+ rows: everything verified\.\n$/);
  });

  it('reconciliation answers every window in order, with its sequence, rows, files and the signature the pulled folder holds', async () => {
    const q = new URLSearchParams({ connection: connectionId, from: '2026-11-19', to: '2026-11-21', limit: '2' });
    const first = await call(
      reconcileRoute,
      new Request(`${base}/api/v1/data_exports/reconciliation?${q}`, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as {
      data: { sequence: number; status: string; rows: number; files: { rows: number }[]; manifest: { name: string; signature: string } }[];
      next_cursor: string;
    };
    expect(page1.data.map((w) => [w.sequence, w.status])).toEqual([
      [1, 'available'],
      [2, 'available'],
    ]);
    for (const w of page1.data) {
      expect(w.rows).toBe(w.files.reduce((n, f) => n + f.rows, 0));
      expect(readFileSync(path.join(out, `${w.manifest.name}.sig`), 'utf8')).toBe(w.manifest.signature);
    }
    q.set('cursor', page1.next_cursor);
    const second = await call(
      reconcileRoute,
      new Request(`${base}/api/v1/data_exports/reconciliation?${q}`, { headers: { authorization: `Bearer ${token}` } }),
    );
    const page2 = (await second.json()) as {
      data: { sequence: number; status: string; rows: number; files: unknown[] }[];
      next_cursor: null;
    };
    expect(page2.data).toMatchObject([{ sequence: 3, status: 'empty', rows: 0, files: [] }]);
    expect(page2.next_cursor).toBeNull();
    // Bad input names the field and changes nothing.
    const bad = await call(
      reconcileRoute,
      new Request(`${base}/api/v1/data_exports/reconciliation?connection=${connectionId}&from=yesterday`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('From: Invalid input (you entered “yesterday”).');
  });

  it('refuses a wrong secret with the server’s reason, and changes nothing', async () => {
    const r = await dde([
      'pull',
      '--url',
      base,
      '--client-id',
      clientId,
      '--client-secret',
      'wrong',
      '--connection',
      connectionId,
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dde: token: 401 /);
  });
});
