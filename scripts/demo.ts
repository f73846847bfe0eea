// Demo data for the embedded default: two programs seeded on the first start (one anonymized),
// a local SFTP server standing in for a customer's (files under <data dir>/demo-sftp/files), an
// SFTP and an API connection for the first program, and a trickle of new events every few
// seconds so every window has data and deliveries show up in the event history within a minute.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '@/db/client';
import { freePort } from '@/db/embedded';
import { findExistingProgramIds } from '@/db/queries/auth';
import { programHasConnections } from '@/db/queries/connections';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { startSftpSink, type SftpSink } from './dev/sftp-sink';
import { createRng } from '@/lib/seed/random';
import { seedProgram, trickle } from '@/lib/seed';

export const DEMO_PROGRAMS = [
  { programId: 4021, programName: 'Acme Corporation', anonymize: false, users: 3000, campaigns: 100, events: 300_000, days: 60 },
  { programId: 5170, programName: 'Globex (anonymized)', anonymize: true, users: 600, campaigns: 30, events: 40_000, days: 60 },
] as const;

export const DEMO_FOLDER = 'acme-exports';

export async function setUpDemo(database: Database, say: (line: string) => void): Promise<void> {
  for (const p of DEMO_PROGRAMS) {
    if ((await findExistingProgramIds(database.db, [p.programId])).length > 0) continue;
    const started = Date.now();
    say(
      `Seeding demo program ${p.programId} “${p.programName}” (${p.users.toLocaleString('en-US')} users, ${p.campaigns} campaigns, ${p.events.toLocaleString('en-US')} events over ${p.days} days)…`,
    );
    await seedProgram(database, { ...p, seed: p.programId });
    say(`Demo program ${p.programId} ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  }
}

type SinkConfig = { port: number; username: string; password: string };

/** The demo's local SFTP server: same port, host key and password on every start (the connection pins them). */
export async function startDemoSink(dataDir: string): Promise<{ sink: SftpSink; config: SinkConfig }> {
  const dir = path.join(dataDir, 'demo-sftp');
  mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'config.json');
  let config: SinkConfig;
  if (existsSync(configFile)) {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as SinkConfig;
  } else {
    config = { port: await freePort(), username: 'acme', password: randomBytes(18).toString('base64url') };
    writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  }
  mkdirSync(path.join(dir, 'files', DEMO_FOLDER), { recursive: true });
  const sink = await startSftpSink({
    rootDir: path.join(dir, 'files'),
    username: config.username,
    password: config.password,
    hostKeyPath: path.join(dir, 'host_key'),
    port: config.port,
  });
  return { sink, config };
}

/** On the first demo start: an SFTP connection to the demo sink and an API connection for program 4021. */
export async function ensureDemoConnections(
  database: Database,
  sink: SftpSink,
  config: SinkConfig,
  say: (line: string) => void,
): Promise<void> {
  const program = DEMO_PROGRAMS[0].programId;
  if (await programHasConnections(database.db, program)) return;
  const fourHours = 4 * 3_600_000;
  const start = new Date(Math.floor((Date.now() - 24 * 3_600_000) / fourHours) * fourHours).toISOString();
  const system = {
    kind: 'user' as const,
    accountId: null as unknown as string,
    email: 'demo',
    name: 'Demo set-up',
    role: 'firstup_super_admin' as const,
    mustChangePassword: false,
    programs: 'all' as const,
    label: 'system (demo set-up)',
  };
  await createConnection(
    database,
    system,
    program,
    createConnectionSchema.parse({
      kind: 'sftp',
      name: 'Acme warehouse (demo SFTP)',
      frequency: 'every_4_hours',
      start_date: start,
      contact_emails: ['data-team@acme.example'],
      host: '127.0.0.1',
      port: sink.port,
      folder: DEMO_FOLDER,
      username: config.username,
      auth: { method: 'password', password: config.password },
      host_key_fingerprint: sink.hostKeyFingerprint,
    }),
    sftpSetupCheck(),
  );
  await createConnection(
    database,
    system,
    program,
    createConnectionSchema.parse({
      kind: 'api',
      name: 'Acme pipeline (API)',
      frequency: 'daily',
      start_date: start,
      contact_emails: ['data-team@acme.example'],
    }),
  );
  say(
    `Demo connections created for program ${program}: SFTP to 127.0.0.1:${sink.port} and API; the last day's windows are delivered within a minute.`,
  );
}

/** New events keep arriving while the demo runs. Returns a stop function. */
export function startDemoTrickle(database: Database, everyMs = 5000): () => void {
  const rng = createRng(Date.now() & 0xffffffff);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all(DEMO_PROGRAMS.map((p) => trickle(database, p.programId, rng)))
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  return () => clearInterval(timer);
}
