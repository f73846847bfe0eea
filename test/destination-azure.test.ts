// The Azure Blob destination against Azurite (Microsoft's emulator, test/helpers/azurite.ts): set-up
// through the management API with an account key or a SAS token (each failure its own message,
// nothing saved), delivery of a real run into the lake layout as block blobs with their sha256 in
// the metadata and the manifest last, a large file staged as blocks and committed in one call, and
// the daily check's warning for a SAS token that expires soon.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient,
} from '@azure/storage-blob';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { closeDatabase } from '@/db/client';
import { connections, exportFiles, exportRuns, type Account } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import { azureDestination, BLOCK_BYTES } from '@/lib/destinations/azure';
import { lakeKey } from '@/lib/destinations/s3-settings';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type TestAzurite } from './helpers/azurite';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const PROGRAM = 84;
const until = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let azurite: TestAzurite;
let container: ContainerClient;
let cookie: string;
type Json = Record<string, unknown>;
const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

function sas(expiresOn: Date, name = 'lake'): string {
  return generateBlobSASQueryParameters(
    { containerName: name, permissions: ContainerSASPermissions.parse('racwdl'), startsOn: new Date(Date.now() - 3_600_000), expiresOn },
    credential,
  ).toString();
}

function body(over: { destination?: Json; credentials?: Json; name?: string } = {}): Json {
  return {
    kind: 'azure_blob',
    name: over.name ?? 'Azure lake',
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
    contact_emails: ['data@customer.example'],
    destination: {
      account: AZURITE_ACCOUNT,
      container: 'lake',
      prefix: 'dde',
      endpoint: azurite.endpoint,
      auth: 'account_key',
      ...over.destination,
    },
    credentials: over.credentials ?? { account_key: AZURITE_KEY },
  };
}

async function create(json: Json): Promise<{ status: number; body: Json }> {
  const res = await createRoute(request('POST', `/api/v1/connections?program=${PROGRAM}`, { cookie, json }), {
    params: Promise.resolve({}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const messageOf = (r: { body: Json }) => (r.body.error as { message: string }).message;

async function listKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const b of container.listBlobsFlat()) keys.push(b.name);
  return keys.sort();
}

beforeAll(async () => {
  azurite = await startAzurite();
  container = new BlobServiceClient(azurite.endpoint, credential).getContainerClient('lake');
  await container.create();
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-azure-dest-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Azure' }]);
  await seedProgram(t, { programId: PROGRAM, users: 20, campaigns: 3, events: 1500, days: 1, seed: 4, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  const firstup: Account = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(firstup);
}, 120_000);

afterAll(async () => {
  resetClock();
  await azurite?.stop();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('Azure Blob destination against Azurite', () => {
  let connectionId: string;

  it('refuses a set-up whose test fails, each with its own message, and saves nothing', async () => {
    const before = (await t.db.select().from(connections)).length;
    expect(messageOf(await create(body({ destination: { container: 'nope' } })))).toBe(
      `The connection test failed at "Write a test blob": The container "nope" does not exist in the account ${AZURITE_ACCOUNT}. Check its name (or create it).`,
    );
    const wrongKey = await create(body({ credentials: { account_key: Buffer.alloc(64, 1).toString('base64') } }));
    expect(messageOf(wrongKey)).toContain(`The storage account ${AZURITE_ACCOUNT} refused the account key.`);
    const expired = await create(body({ destination: { auth: 'sas' }, credentials: { sas_token: sas(new Date(Date.now() - 60_000)) } }));
    expect(messageOf(expired)).toMatch(
      /The connection test failed at "Credentials": The SAS token expired at .*Issue a new one and replace the credentials\./,
    );
    const internal = await create(body({ destination: { endpoint: `http://127.0.0.2:${azurite.port}/${AZURITE_ACCOUNT}` } }));
    expect(messageOf(internal)).toMatch(/not an allowed destination/);
    const mismatch = await create(body({ destination: { auth: 'sas' } }));
    expect(JSON.stringify(mismatch.body)).toContain('Enter the SAS token (sas_token).');
    expect((await t.db.select().from(connections)).length).toBe(before);
    expect(await listKeys()).toEqual([]);
  });

  it('sets up with the account key (encrypted, never answered) and delivers a run into the lake layout, manifest last', async () => {
    const created = await create(body());
    expect(created.status).toBe(201);
    connectionId = ((created.body.data as Json).id as string) ?? '';
    expect((created.body.data as Json).destination).toMatchObject({ pushes: true, label: `${azurite.endpoint}/lake/dde` });
    expect(JSON.stringify(created.body)).not.toContain(AZURITE_KEY);
    const [row] = await t.db.select().from(connections).where(eq(connections.id, connectionId));
    expect(decryptSecret(row.secretCiphertext!, connectionId)).toEqual({ method: 'account_key', accountKey: AZURITE_KEY });

    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await t.db
      .select()
      .from(exportRuns)
      .where(eq(exportRuns.connectionId, connectionId))
      .orderBy(asc(exportRuns.windowStart));
    expect((await executeExportRun(t, run.id)).status).toBe('generated');
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    const expected: string[] = [];
    for (const f of files) {
      const kind = f.fileType === 'manifest' ? ('manifest' as const) : ('data' as const);
      const key = lakeKey('dde', run, { name: f.name, fileType: f.fileType, kind });
      expected.push(key);
      if (kind === 'data') expected.push(`${key}.sha256`);
      if (f.signature) expected.push(lakeKey('dde', run, { name: `${f.name}.sig`, fileType: 'manifest', kind: 'sidecar' }));
      const blob = container.getBlockBlobClient(key);
      const bytes = await blob.downloadToBuffer();
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect((await blob.getProperties()).metadata?.sha256).toBe(f.sha256);
    }
    const keys = await listKeys();
    expect(keys).toEqual(expected.sort());
    console.log(`destination-azure: ${azurite.endpoint}/lake/ after the first delivery:\n  ${keys.join('\n  ')}`);
  });

  it('a file larger than a block is staged and committed in one call, visible only whole', async () => {
    const big = randomBytes(BLOCK_BYTES * 2 + 777);
    const sha256 = createHash('sha256').update(big).digest('hex');
    const file = path.join(dataDir, '84-11-19-2026-00-activity-incremental.gz');
    writeFileSync(file, big);
    const [c] = await t.db.select().from(connections).where(eq(connections.id, connectionId));
    let fenced = 0;
    await azureDestination().deliver({
      connection: c,
      secret: decryptSecret(c.secretCiphertext!, c.id),
      files: [{ name: path.basename(file), size: big.length, sha256, kind: 'data', fileType: 'activity', localPath: file }],
      run: { id: 'r', exportType: 'incremental', windowStart: new Date('2026-11-19T00:00:00Z'), windowEnd: until, claim: 1 },
      signal: new AbortController().signal,
      fence: async (publish) => {
        fenced++;
        return publish();
      },
    });
    const blob = container.getBlockBlobClient('dde/incremental/activity/dt=2026-11-19/84-11-19-2026-00-activity-incremental.gz');
    expect(
      createHash('sha256')
        .update(await blob.downloadToBuffer())
        .digest('hex'),
    ).toBe(sha256);
    const list = await blob.getBlockList('all');
    expect(list.committedBlocks?.length).toBe(3);
    expect(list.uncommittedBlocks ?? []).toEqual([]);
    expect(fenced).toBe(1); // the one Put Block List, under the claim
  });

  it('a SAS token: stored encrypted, its expiry kept; the daily check warns when it expires within 14 days', async () => {
    const expiresOn = new Date(Date.now() + 5 * 86_400_000);
    const token = sas(expiresOn);
    const created = await create(body({ name: 'SAS', destination: { auth: 'sas', prefix: 'sas' }, credentials: { sas_token: token } }));
    expect(created.status).toBe(201);
    const id = (created.body.data as Json).id as string;
    const [row] = await t.db.select().from(connections).where(eq(connections.id, id));
    expect((row.destination as Json).sas_expires_at).toBe(new Date(Math.floor(expiresOn.getTime() / 1000) * 1000).toISOString());
    expect(JSON.stringify(row.destination)).not.toContain('sig=');
    const verdict = await azureDestination().check({ connection: row, secret: decryptSecret(row.secretCiphertext!, id) });
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([
      `The SAS token expires at ${(row.destination as Json).sas_expires_at} (in 5 days): issue a new one and replace the credentials before then.`,
    ]);
  });
});
