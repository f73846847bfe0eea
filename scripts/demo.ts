// Demo data for the embedded default: two programs seeded on the first start (one anonymized),
// then a trickle of new events every few seconds so every window has data.
import type { Database } from '@/db/client';
import { createRng } from '@/lib/seed/random';
import { seedProgram, trickle } from '@/lib/seed';

export const DEMO_PROGRAMS = [
  { programId: 4021, programName: 'Acme Corporation', anonymize: false, users: 3000, campaigns: 100, events: 300_000, days: 60 },
  { programId: 5170, programName: 'Globex (anonymized)', anonymize: true, users: 600, campaigns: 30, events: 40_000, days: 60 },
] as const;

export async function setUpDemo(database: Database, say: (line: string) => void): Promise<void> {
  for (const p of DEMO_PROGRAMS) {
    const [exists] = await database.sql`select 1 from programs where id = ${p.programId}`;
    if (exists) continue;
    const started = Date.now();
    say(`Seeding demo program ${p.programId} “${p.programName}” (${p.users.toLocaleString('en-US')} users, ${p.campaigns} campaigns, ${p.events.toLocaleString('en-US')} events over ${p.days} days)…`);
    await seedProgram(database, { ...p, seed: p.programId });
    say(`Demo program ${p.programId} ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  }
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
