import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedProgram } from '@/lib/seed';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

const until = new Date('2026-11-01T00:00:00Z');

function cli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('dde seed', () => {
  it('produces the same users, campaigns and events for the same seed', async () => {
    await seedProgram(t, { programId: 11, users: 50, campaigns: 5, events: 2000, days: 3, seed: 42, until });
    await seedProgram(t, { programId: 12, users: 50, campaigns: 5, events: 2000, days: 3, seed: 42, until });
    const pick = (p: number) => t.sql`
      select m.first_name, m.last_name, m.attribute_department, m.attribute_city
      from members m where program_id = ${p} order by id`;
    expect(await pick(11)).toEqual(await pick(12));
    const events = (p: number) => t.sql`
      select event_type, platform, occurred_at, ingested_at from activity_events where program_id = ${p} order by id`;
    expect(await events(11)).toEqual(await events(12));
  });

  it('spreads events over the days, with realistic types and platforms and about 1% arriving hours late', async () => {
    await seedProgram(t, { programId: 13, users: 200, campaigns: 20, events: 20_000, days: 10, seed: 7, until });
    const [s] = await t.sql<
      { n: number; first: string; last: string; late: number; types: number; email_on_email: number; emails: number }[]
    >`
      select count(*) as n, min(occurred_at) as first, max(occurred_at) as last,
             count(*) filter (where ingested_at - occurred_at > interval '1 hour') as late,
             count(distinct event_type) as types,
             count(*) filter (where event_type like 'email_%' and platform = 'email') as email_on_email,
             count(*) filter (where event_type like 'email_%') as emails
      from activity_events where program_id = 13`;
    expect(s.n).toBe(20_000);
    expect(new Date(s.first).getTime()).toBeGreaterThanOrEqual(until.getTime() - 10 * 86_400_000);
    expect(new Date(s.last).getTime()).toBeLessThan(until.getTime());
    expect(s.late / s.n).toBeGreaterThan(0.005);
    expect(s.late / s.n).toBeLessThan(0.02);
    expect(s.types).toBe(18);
    expect(s.email_on_email).toBe(s.emails);
    const [{ bad }] = await t.sql<{ bad: number }[]>`
      select count(*) as bad from activity_events e
      where program_id = 13 and (ingested_at < occurred_at
        or not exists (select 1 from members m where m.id = e.user_id and m.program_id = 13)
        or not exists (select 1 from campaigns c where c.id = e.content_id and c.program_id = 13))`;
    expect(bad).toBe(0);
  });

  it('refuses bad arguments with a one-line message naming the flag, and writes nothing', () => {
    const r = cli(['seed', '--program', 'abc', '--users', '10'], { DATABASE_URL: t.url });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('dde: --program: must be a numeric program id');
    const r2 = cli(['seed', '--program', '99', '--days', '0'], { DATABASE_URL: t.url });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain('--days: must be at least 1');
  });

  it('seeds a program through the CLI and reports what it wrote', async () => {
    const r = cli(
      ['seed', '--program', '21', '--users', '30', '--campaigns', '3', '--events', '500', '--days', '2', '--until', '2026-11-01T00:00:00Z'],
      {
        DATABASE_URL: t.url,
        NEXTAUTH_SECRET: 'x'.repeat(32),
        DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
      },
    );
    expect(r.stderr).not.toContain('Error');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Program 21: 30 users, 3 campaigns, 500 events');
    const [{ n }] = await t.sql<{ n: number }[]>`select count(*) as n from activity_events where program_id = 21`;
    expect(n).toBe(500);
  });
});

describe('an unreachable database', () => {
  it('fails with a clear message and a non-zero exit instead of hanging', () => {
    const r = cli(['migrate'], {
      DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/db',
      NEXTAUTH_SECRET: 'x'.repeat(32),
      DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot reach the database/);
    expect(r.stderr).not.toContain('secretpw');
  });

  it('gives up within about 10 s when the server accepts but never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const result = await new Promise<{ status: number | null; stderr: string; ms: number }>((resolve) => {
        const started = Date.now();
        import('node:child_process').then(({ spawn }) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'migrate'], {
            env: {
              ...process.env,
              DATABASE_URL: `postgres://u@127.0.0.1:${port}/db`,
              NEXTAUTH_SECRET: 'x'.repeat(32),
              DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
            },
          });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('exit', (status) => resolve({ status, stderr, ms: Date.now() - started }));
        });
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/cannot reach the database/);
    } finally {
      silent.close();
    }
  }, 40_000);
});
