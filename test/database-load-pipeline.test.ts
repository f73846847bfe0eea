// A customer's pipeline into their own database: two weeks of 4-hourly windows and a historical
// backfill overlapping them (loaded half-way through), into PostgreSQL and into MariaDB. Afterwards
// the activity table holds every source event of the range exactly once (count(*) equals
// count(distinct event_id) equals the source), each window's events match the source's, every user
// is there with the version the source has (the backfill's copies never replace a row with itself twice), and `_dde_loads` has one row per window and file type.
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '@/lib/destinations/database/settings';
import { windowsOf } from '@/lib/windows';
import {
  createCustomerMysqlDatabase,
  createCustomerPgDatabase,
  customerMysqlOrSkip,
  startCustomerPostgres,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { loadSuite, type ExportedWindow } from './helpers/load-runs';

const PROGRAM = 2704;
const until = new Date('2026-11-20T00:00:00Z');
const from = new Date(until.getTime() - 14 * 86_400_000);
const spans = windowsOf({ frequency: 'every_4_hours', startDate: from, endDate: until });
const suite = loadSuite({
  seed: { programId: PROGRAM, users: 300, campaigns: 20, events: 20_000, days: 14, seed: 31, until },
  start: from,
  windows: spans,
  // The backfill: the calendar-month chunks of a historical request over the same fortnight.
  historical: [
    { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-11-13T00:00:00Z') },
    { start: new Date('2026-11-13T00:00:00Z'), end: until },
  ],
  tmp: 'dde-dbpipe-',
  timeoutMs: 600_000,
});
const { server: mysqlServer, skip: skipMysql } = await customerMysqlOrSkip('the MariaDB pipeline');
let incremental: ExportedWindow[];
let backfill: ExportedWindow[];
beforeAll(() => {
  expect(spans).toHaveLength(84);
  incremental = suite.windows;
  backfill = suite.historical;
});

async function loadEverything(settings: DatabaseSettings, password: string) {
  const load = (w: ExportedWindow) => suite.load(w, settings, password);
  const half = incremental.length / 2;
  for (const w of incremental.slice(0, half)) await load(w);
  for (const w of backfill) await load(w);
  for (const w of incremental.slice(half)) await load(w);
  // A retry of everything loads nothing more.
  for (const w of [...incremental.slice(0, 3), ...backfill]) {
    const again = await load(w);
    expect(again.files.every((f) => f.status === 'already_loaded')).toBe(true);
  }
}

async function sourceFacts() {
  const perWindow = await suite.t.sql<{ start: string; n: number }[]>`
    select to_char(date_bin('4 hours', ingested_at, ${from.toISOString()}::timestamptz) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as start, count(*)::int as n
      from activity_events where program_id = ${PROGRAM} and ingested_at >= ${from.toISOString()} and ingested_at < ${until.toISOString()} group by 1 order by 1`;
  const [{ n: total }] = await suite.t.sql<{ n: number }[]>`
    select count(*)::int as n from activity_events where program_id = ${PROGRAM} and ingested_at >= '2026-11-01' and ingested_at < ${until.toISOString()}`;
  const users = await suite.t.sql<{ id: string; updated: string }[]>`
    select id::text, to_char(date_trunc('second', updated_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as updated
      from members where program_id = ${PROGRAM} and updated_at >= '2026-11-01' and updated_at < ${until.toISOString()} order by members.id`;
  return { perWindow, total, users };
}

/** One `_dde_loads` row per window and file type, a type without rows in a window included (rows 0). */
const expectedLedger = () => (incremental.length + backfill.length) * 3;

describe('two weeks of 4-hourly windows and an overlapping backfill', () => {
  let pg: CustomerPostgres;
  beforeAll(async () => {
    pg = await startCustomerPostgres();
  });
  afterAll(async () => pg?.stop());

  it('PostgreSQL: every event once, every window as in the source, users as the source has them', async () => {
    const c = await createCustomerPgDatabase(pg);
    try {
      await loadEverything(c.settings(), c.password);
      const facts = await sourceFacts();
      const [counts] = await c.sql<
        { n: number; d: number }[]
      >`select count(*)::int as n, count(distinct event_id)::int as d from dde.activity`;
      console.log(
        `PIPELINE postgres count=${counts.n} distinct=${counts.d} source=${facts.total} windows=${incremental.length}+${backfill.length} users=${facts.users.length}`,
      );
      expect(counts.n).toBe(facts.total);
      expect(counts.d).toBe(facts.total);
      const perWindow = await c.sql<{ start: string; n: number }[]>`
        select to_char(date_bin('4 hours', ingested_at, ${from.toISOString()}::timestamptz) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as start, count(*)::int as n
          from dde.activity where ingested_at >= ${from.toISOString()} group by 1 order by 1`;
      expect(perWindow).toEqual(facts.perWindow);
      const users = await c.sql<{ id: string; updated: string }[]>`
        select user_id as id, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as updated from dde.users order by user_id::bigint`;
      expect(users).toEqual(facts.users);
      const [ledger] = await c.sql<{ n: number; keys: number }[]>`
        select count(*)::int as n, count(distinct (export_type, window_start, file_type))::int as keys from dde._dde_loads`;
      expect(ledger).toEqual({ n: expectedLedger(), keys: expectedLedger() });
    } finally {
      await c.drop();
    }
  }, 300_000);

  it.skipIf(!!skipMysql)(
    'MariaDB: every event once, every window as in the source, users as the source has them',
    async () => {
      const c = await createCustomerMysqlDatabase(mysqlServer!);
      try {
        await loadEverything(c.settings(), c.password);
        const facts = await sourceFacts();
        const q = async <T>(sql: string) => (await c.conn.query<RowDataPacket[]>(sql))[0] as T[];
        const [counts] = await q<{ n: string; d: string }>('select count(*) as n, count(distinct event_id) as d from activity');
        console.log(
          `PIPELINE mariadb count=${counts.n} distinct=${counts.d} source=${facts.total} windows=${incremental.length}+${backfill.length} users=${facts.users.length}`,
        );
        expect(Number(counts.n)).toBe(facts.total);
        expect(Number(counts.d)).toBe(facts.total);
        const base = Math.floor(from.getTime() / 1000);
        const perWindow = await q<{ start: string; n: string }>(
          `select date_format(from_unixtime(${base} + floor((unix_timestamp(ingested_at) - ${base}) / 14400) * 14400), '%Y-%m-%dT%H:%i:%sZ') as start, count(*) as n
           from activity where ingested_at >= from_unixtime(${base}) group by 1 order by 1`,
        );
        expect(perWindow.map((r) => ({ start: r.start, n: Number(r.n) }))).toEqual(facts.perWindow);
        const users = await q<{ id: string; updated: string }>(
          `select user_id as id, date_format(updated_at, '%Y-%m-%dT%H:%i:%sZ') as updated from users order by cast(user_id as unsigned)`,
        );
        expect(users).toEqual(facts.users);
        const [ledger] = await q<{ n: string; k: string }>(
          'select count(*) as n, count(distinct export_type, window_start, file_type) as k from _dde_loads',
        );
        expect([Number(ledger.n), Number(ledger.k)]).toEqual([expectedLedger(), expectedLedger()]);
      } finally {
        await c.drop();
      }
    },
    300_000,
  );
});
