// Realistic, deterministic synthetic engagement data: a program's users, campaigns and a stream
// of activity events spread over past days (about 1% arriving late). Events go in with COPY,
// so a million of them take seconds. Used by `dde seed`, the demo, tests and benchmarks.
import { Faker, en } from '@faker-js/faker';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sql as dsql } from 'drizzle-orm';
import type { Database } from '@/db/client';
import { campaigns, members, programs, type EventType, type Platform } from '@/db/schema';
import { createRng, type Rng } from './random';

export type SeedOptions = {
  programId: number;
  programName?: string;
  anonymize?: boolean;
  users: number;
  campaigns: number;
  events: number;
  days: number;
  seed?: number;
  /** Events are spread over [until - days, until). Defaults to now. */
  until?: Date;
  /** Fraction of events that arrive hours after they happened. */
  lateFraction?: number;
};

export type SeedProgress = { phase: 'users' | 'campaigns' | 'events'; done: number; total: number };
export type SeedResult = { programId: number; users: number; campaigns: number; events: number };

const DEPARTMENTS = [
  'Engineering',
  'Sales',
  'Marketing',
  'Operations',
  'Finance',
  'People',
  'Legal',
  'Customer Success',
  'Manufacturing',
  'Logistics',
];
const LOCATIONS = [
  {
    city: 'Chicago',
    state: 'IL',
    country: 'United States',
    region: 'North America',
    timezone: 'America/Chicago',
    locale: 'en-US',
    language: 'English',
  },
  {
    city: 'Austin',
    state: 'TX',
    country: 'United States',
    region: 'North America',
    timezone: 'America/Chicago',
    locale: 'en-US',
    language: 'English',
  },
  {
    city: 'New York',
    state: 'NY',
    country: 'United States',
    region: 'North America',
    timezone: 'America/New_York',
    locale: 'en-US',
    language: 'English',
  },
  {
    city: 'San Francisco',
    state: 'CA',
    country: 'United States',
    region: 'North America',
    timezone: 'America/Los_Angeles',
    locale: 'en-US',
    language: 'English',
  },
  {
    city: 'Toronto',
    state: 'ON',
    country: 'Canada',
    region: 'North America',
    timezone: 'America/Toronto',
    locale: 'en-CA',
    language: 'English',
  },
  {
    city: 'London',
    state: 'England',
    country: 'United Kingdom',
    region: 'EMEA',
    timezone: 'Europe/London',
    locale: 'en-GB',
    language: 'English',
  },
  { city: 'Berlin', state: 'Berlin', country: 'Germany', region: 'EMEA', timezone: 'Europe/Berlin', locale: 'de-DE', language: 'German' },
  {
    city: 'Paris',
    state: 'Île-de-France',
    country: 'France',
    region: 'EMEA',
    timezone: 'Europe/Paris',
    locale: 'fr-FR',
    language: 'French',
  },
  {
    city: 'São Paulo',
    state: 'SP',
    country: 'Brazil',
    region: 'LATAM',
    timezone: 'America/Sao_Paulo',
    locale: 'pt-BR',
    language: 'Portuguese',
  },
  {
    city: 'Bengaluru',
    state: 'Karnataka',
    country: 'India',
    region: 'APAC',
    timezone: 'Asia/Kolkata',
    locale: 'en-IN',
    language: 'English',
  },
  {
    city: 'Singapore',
    state: 'Singapore',
    country: 'Singapore',
    region: 'APAC',
    timezone: 'Asia/Singapore',
    locale: 'en-SG',
    language: 'English',
  },
  {
    city: 'Sydney',
    state: 'NSW',
    country: 'Australia',
    region: 'APAC',
    timezone: 'Australia/Sydney',
    locale: 'en-AU',
    language: 'English',
  },
] as const;
const WORK_LOCATIONS = ['Headquarters', 'Regional office', 'Remote', 'Plant 2', 'Distribution center', 'Retail store'];
const EMPLOYEE_TYPES = [
  ['Full-time', 80],
  ['Part-time', 10],
  ['Contractor', 8],
  ['Intern', 2],
] as const;
const TOPICS = [
  'Company News',
  'HR & Benefits',
  'Safety',
  'IT Updates',
  'Leadership',
  'Culture',
  'Wellness',
  'Product',
  'Sustainability',
  'Events',
];
const INITIATIVES = ['Return to Office', 'Open Enrollment', 'FY27 Kickoff', 'Zero Harm', 'Digital Workplace', 'Inclusion Week'];
const AUDIENCES = ['All Employees', 'People Managers', 'Frontline', 'Engineering', 'Sales', 'EMEA', 'APAC', 'North America', 'New Hires'];
const CHANNELS = ['email', 'push', 'feed', 'assistant', 'web'];
const CONTENT_TYPES = ['article', 'video', 'image', 'link', 'note', 'poll'];

const EVENT_MIX: readonly (readonly [EventType, number])[] = [
  ['impression', 300],
  ['email_delivered', 150],
  ['email_open', 90],
  ['open', 90],
  ['feed_click', 60],
  ['push_delivered', 60],
  ['push_click', 25],
  ['like', 40],
  ['link_click', 30],
  ['email_click', 30],
  ['video_play', 20],
  ['assistant_delivered', 20],
  ['assistant_open', 10],
  ['share', 10],
  ['bookmark', 10],
  ['download', 8],
  ['poll_response', 8],
  ['acknowledge', 9],
];
const APP_PLATFORMS: readonly (readonly [Platform, number])[] = [
  ['web', 50],
  ['ios', 30],
  ['android', 20],
];

function platformFor(type: EventType, rng: Rng): Platform {
  if (type.startsWith('email_')) return 'email';
  if (type.startsWith('assistant_')) return 'assistant';
  if (type.startsWith('push_')) return rng.chance(0.6) ? 'ios' : 'android';
  return rng.weighted(APP_PLATFORMS);
}

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

function between(rng: Rng, from: Date, to: Date): Date {
  return new Date(from.getTime() + Math.floor(rng.next() * (to.getTime() - from.getTime())));
}

/** Creates the program if needed; returns whether it was created. */
export async function ensureProgram(database: Database, id: number, name: string, anonymize = false): Promise<boolean> {
  const created = await database.db.insert(programs).values({ id, name, anonymizePii: anonymize }).onConflictDoNothing().returning();
  return created.length > 0;
}

export async function seedProgram(database: Database, opts: SeedOptions, onProgress?: (p: SeedProgress) => void): Promise<SeedResult> {
  const seed = opts.seed ?? 1;
  const faker = new Faker({ locale: [en] });
  faker.seed(seed);
  const rng = createRng(seed * 7919 + 17);
  const until = opts.until ?? new Date();
  const from = new Date(until.getTime() - opts.days * 86_400_000);
  const { db } = database;

  await ensureProgram(database, opts.programId, opts.programName ?? `${faker.company.name()}`, opts.anonymize ?? false);

  // Users, in batches (each row is a few dozen faker calls; a few thousand per batch is plenty).
  const memberIds: number[] = [];
  const names: string[] = [];
  const batchSize = 1000; // 34 parameters a row; PostgreSQL allows 65,535 per statement
  for (let done = 0; done < opts.users;) {
    const n = Math.min(batchSize, opts.users - done);
    const rows: (typeof members.$inferInsert)[] = [];
    for (let i = 0; i < n; i++) {
      const first = faker.person.firstName();
      const last = faker.person.lastName();
      const loc = rng.pick(LOCATIONS);
      const dept = rng.pick(DEPARTMENTS);
      const created = between(rng, new Date(from.getTime() - 3 * 365 * 86_400_000), from);
      const hire = new Date(created.getTime() - rng.int(0, 30) * 86_400_000);
      const blocked = rng.chance(0.01);
      rows.push({
        programId: opts.programId,
        firstName: first,
        lastName: last,
        universalIdentifier: `${faker.internet.username({ firstName: first, lastName: last }).toLowerCase()}@${opts.programId}.example.com`,
        experienceStatus: blocked ? 'blocked' : rng.chance(0.92) ? 'active' : 'inactive',
        blockedAt: blocked ? between(rng, created, until) : null,
        studioRole: rng.weighted([
          ['member', 90],
          ['publisher', 7],
          ['administrator', 3],
        ] as const),
        lastVisitedAt: rng.chance(0.9) ? between(rng, from, until) : null,
        accountCreatedAt: created,
        registeredAt: rng.chance(0.95) ? new Date(created.getTime() + rng.int(0, 72) * 3_600_000) : null,
        preferredName: rng.chance(0.15) ? faker.person.firstName() : null,
        profileZip: faker.location.zipCode(),
        profileJobTitle: faker.person.jobTitle(),
        profileBirthdate: isoDate(faker.date.birthdate({ mode: 'age', min: 20, max: 65 })),
        attributeCompany: opts.programName ?? 'Acme Corporation',
        attributeDepartment: dept,
        attributeJobDescription: faker.person.jobDescriptor(),
        attributeGender: rng.weighted([
          ['Female', 48],
          ['Male', 48],
          ['Non-binary', 2],
          [null, 2],
        ] as const),
        attributeCity: loc.city,
        attributeState: loc.state,
        attributeCountry: loc.country,
        attributeRegion: loc.region,
        attributeHireDate: isoDate(hire),
        attributeStartDate: isoDate(created),
        attributeLanguage: loc.language,
        attributeWorkLocation: rng.pick(WORK_LOCATIONS),
        attributeTimezone: loc.timezone,
        attributeLocale: loc.locale,
        attributeCostCenter: `CC-${rng.int(1000, 1099)}`,
        attributeDivision: `${dept} ${rng.pick(['East', 'West', 'Central', 'Global'])}`,
        attributeManager: names.length ? rng.pick(names) : null,
        attributeEmployeeType: rng.weighted(EMPLOYEE_TYPES),
        attributeBusinessUnit: rng.pick(['Corporate', 'Consumer', 'Enterprise', 'Industrial']),
        updatedAt: between(rng, from, until),
      });
      if (names.length < 500) names.push(`${first} ${last}`);
    }
    const inserted = await db.insert(members).values(rows).returning({ id: members.id });
    for (const r of inserted) memberIds.push(r.id);
    done += n;
    onProgress?.({ phase: 'users', done, total: opts.users });
  }
  if (memberIds.length === 0) {
    const existing = await db
      .select({ id: members.id })
      .from(members)
      .where(dsql`${members.programId} = ${opts.programId}`)
      .limit(100_000);
    for (const r of existing) memberIds.push(r.id);
  }

  // Campaigns.
  const campaignRows: (typeof campaigns.$inferInsert)[] = [];
  for (let i = 0; i < opts.campaigns; i++) {
    const publisher = memberIds.length ? rng.pick(memberIds) : null;
    const author = memberIds.length ? rng.pick(memberIds) : null;
    const publish = between(rng, new Date(from.getTime() - 7 * 86_400_000), until);
    const topicCount = rng.int(1, 3);
    const topics = Array.from({ length: topicCount }, () => {
      const idx = rng.int(0, TOPICS.length - 1);
      return { id: `topic-${idx + 1}`, name: TOPICS[idx], subscriber_count: rng.int(50, Math.max(60, opts.users)) };
    }).filter((t, j, all) => all.findIndex((x) => x.id === t.id) === j);
    const title = faker.company.catchPhrase();
    campaignRows.push({
      programId: opts.programId,
      name: title,
      publishAt: publish,
      archiveAt: rng.chance(0.2) ? new Date(publish.getTime() + rng.int(7, 60) * 86_400_000) : null,
      publisherUserId: publisher,
      publisherName: faker.person.fullName(),
      authorUserId: author,
      authorName: faker.person.fullName(),
      contentVersion: rng.int(1, 4),
      studioUrl: `https://studio.example.com/programs/${opts.programId}/campaigns/${i + 1}`,
      topics,
      initiatives: rng.chance(0.4) ? [rng.pick(INITIATIVES)] : [],
      isFeatured: rng.chance(0.1),
      isShareable: rng.chance(0.8),
      isCommentable: rng.chance(0.7),
      isTranslatable: rng.chance(0.3),
      durationSeconds: rng.chance(0.5) ? rng.int(1, 30) * 86_400 : null,
      priority: rng.weighted([
        ['normal', 80],
        ['high', 15],
        ['urgent', 5],
      ] as const),
      acknowledgeable: rng.chance(0.1),
      authorAliasId: rng.chance(0.2) ? `alias-${rng.int(1, 20)}` : null,
      authorAliasName: rng.chance(0.2) ? `${rng.pick(DEPARTMENTS)} Team` : null,
      publicationState: rng.weighted([
        ['published', 85],
        ['archived', 10],
        ['scheduled', 5],
      ] as const),
      sourceType: rng.weighted([
        ['studio', 80],
        ['rss', 10],
        ['api', 10],
      ] as const),
      audiences: Array.from(new Set([rng.pick(AUDIENCES), rng.pick(AUDIENCES)])),
      contentType: rng.pick(CONTENT_TYPES),
      channels: Array.from(new Set([rng.pick(CHANNELS), rng.pick(CHANNELS), 'feed'])),
      acknowledgeMessage: rng.chance(0.1) ? 'I have read and understood this update.' : null,
      resources: rng.chance(0.3) ? [`https://intranet.example.com/docs/${rng.int(100, 999)}.pdf`] : [],
      forYou: rng.chance(0.5),
      optimizedDelivery: rng.chance(0.4),
      automaticRetargeting: rng.chance(0.3),
      subjectLine: title,
      preview: faker.lorem.sentence(),
      updatedAt: between(rng, from, until),
    });
  }
  const campaignIds: number[] = [];
  for (let i = 0; i < campaignRows.length; i += 500) {
    const inserted = await db
      .insert(campaigns)
      .values(campaignRows.slice(i, i + 500))
      .returning({ id: campaigns.id });
    for (const r of inserted) campaignIds.push(r.id);
  }
  onProgress?.({ phase: 'campaigns', done: campaignIds.length, total: opts.campaigns });

  const events =
    opts.events > 0 && memberIds.length && campaignIds.length
      ? await copyEvents(
          database,
          {
            programId: opts.programId,
            memberIds,
            campaignIds,
            count: opts.events,
            from,
            until,
            rng,
            lateFraction: opts.lateFraction ?? 0.01,
          },
          onProgress,
        )
      : 0;
  return { programId: opts.programId, users: opts.users, campaigns: campaignIds.length, events };
}

type EventStreamOptions = {
  programId: number;
  memberIds: number[];
  campaignIds: number[];
  count: number;
  from: Date;
  until: Date;
  rng: Rng;
  lateFraction: number;
};

/** Streams `count` events into activity_events with COPY, in chronological order of occurrence. */
export async function copyEvents(database: Database, o: EventStreamOptions, onProgress?: (p: SeedProgress) => void): Promise<number> {
  const span = o.until.getTime() - o.from.getTime();
  const step = span / o.count;
  const chunkRows = 20_000;
  let produced = 0;
  const source = Readable.from(
    (function* () {
      while (produced < o.count) {
        const n = Math.min(chunkRows, o.count - produced);
        let out = '';
        for (let i = 0; i < n; i++) {
          const k = produced + i;
          const occurred = o.from.getTime() + Math.floor(k * step + o.rng.next() * step);
          // Most events arrive within seconds; about 1% hours later (still never in the future).
          const delay = o.rng.chance(o.lateFraction) ? o.rng.int(1, 12) * 3_600_000 + o.rng.int(0, 3_599_999) : o.rng.int(200, 90_000);
          const ingested = Math.min(occurred + delay, o.until.getTime() - 1);
          const type = o.rng.weighted(EVENT_MIX);
          const platform = platformFor(type, o.rng);
          const link = type === 'link_click' ? `https://intranet.example.com/articles/${o.rng.int(1, 5000)}` : '';
          out += `${o.programId},${o.rng.pick(o.campaignIds)},${o.rng.pick(o.memberIds)},${type},${platform},${new Date(occurred).toISOString()},${new Date(Math.max(ingested, occurred)).toISOString()},${link}\n`;
        }
        produced += n;
        onProgress?.({ phase: 'events', done: produced, total: o.count });
        yield out;
      }
    })(),
  );
  const sink =
    await database.sql`copy activity_events (program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at, link_url) from stdin with (format csv)`.writable();
  await pipeline(source, sink);
  return produced;
}

/** Demo liveliness: a few new events now (ingested_at = arrival), and now and then a profile or campaign edit. */
export async function trickle(database: Database, programId: number, rng: Rng): Promise<number> {
  const { sql } = database;
  const users = await sql<{ id: number }[]>`select id from members where program_id = ${programId} order by random() limit 20`;
  const contents = await sql<{ id: number }[]>`select id from campaigns where program_id = ${programId} order by random() limit 5`;
  if (!users.length || !contents.length) return 0;
  const n = rng.int(3, 15);
  const rows = Array.from({ length: n }, () => {
    const type = rng.weighted(EVENT_MIX);
    return {
      program_id: programId,
      content_id: rng.pick(contents).id,
      user_id: rng.pick(users).id,
      event_type: type,
      platform: platformFor(type, rng),
      occurred_at: new Date(Date.now() - rng.int(0, 60_000)),
      link_url: type === 'link_click' ? `https://intranet.example.com/articles/${rng.int(1, 5000)}` : null,
    };
  });
  await sql`insert into activity_events ${sql(rows)}`;
  if (rng.chance(0.1)) await sql`update members set last_visited_at = now() where id = ${rng.pick(users).id}`;
  if (rng.chance(0.03)) await sql`update campaigns set content_version = content_version + 1 where id = ${rng.pick(contents).id}`;
  return n;
}
