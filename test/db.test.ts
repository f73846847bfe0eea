import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityEvents, campaigns, exportRuns, connections, members, programs } from '@/db/schema';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

describe('database schema', () => {
  it('gives every program its own pseudonym key', async () => {
    const [a, b] = await t.db
      .insert(programs)
      .values([
        { id: 1, name: 'A' },
        { id: 2, name: 'B' },
      ])
      .returning();
    expect(a.pseudonymKey).toMatch(/^[0-9a-f]{64}$/);
    expect(a.pseudonymKey).not.toBe(b.pseudonymKey);
  });

  it('moves updated_at on every member and campaign update, so the next user file includes them', async () => {
    const [m] = await t.db.insert(members).values({ programId: 1, firstName: 'Ada' }).returning();
    const [c] = await t.db.insert(campaigns).values({ programId: 1, name: 'Launch' }).returning();
    await new Promise((r) => setTimeout(r, 5));
    const [m2] = await t.db.update(members).set({ firstName: 'Ada L.' }).where(eq(members.id, m.id)).returning();
    const [c2] = await t.db.update(campaigns).set({ name: 'Launch 2' }).where(eq(campaigns.id, c.id)).returning();
    expect(m2.updatedAt.getTime()).toBeGreaterThan(m.updatedAt.getTime());
    expect(c2.updatedAt.getTime()).toBeGreaterThan(c.updatedAt.getTime());
  });

  it('stamps ingested_at with the arrival time when an event is written', async () => {
    const before = Date.now();
    const [e] = await t.db
      .insert(activityEvents)
      .values({ programId: 1, contentId: 1, userId: 1, eventType: 'like', platform: 'web', occurredAt: new Date('2020-01-01T00:00:00Z') })
      .returning();
    expect(e.ingestedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('refuses a second run for the same connection, export type and window start', async () => {
    const [conn] = await t.db
      .insert(connections)
      .values({ programId: 1, kind: 'api', frequency: 'daily', startDate: new Date('2026-01-01T00:00:00Z') })
      .returning();
    const run = {
      connectionId: conn.id,
      programId: 1,
      exportType: 'incremental' as const,
      windowStart: new Date('2026-01-01T00:00:00Z'),
      windowEnd: new Date('2026-01-02T00:00:00Z'),
    };
    await t.db.insert(exportRuns).values(run);
    const again = await t.db.insert(exportRuns).values(run).onConflictDoNothing().returning();
    expect(again).toHaveLength(0);
    const [{ n }] = await t.db.select({ n: sql<number>`count(*)` }).from(exportRuns);
    expect(n).toBe(1);
  });
});
