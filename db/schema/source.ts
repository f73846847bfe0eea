// Source engagement data: what exports read. In production this is the platform's data
// (a replica or the same database); here it is seeded by `dde seed` and the demo.
import { sql } from 'drizzle-orm';
import { bigint, boolean, date, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const programs = pgTable('programs', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  anonymizePii: boolean('anonymize_pii').notNull().default(false),
  /** Per-program HMAC key for user-id pseudonyms (hex). Never leaves the server. */
  pseudonymKey: text('pseudonym_key')
    .notNull()
    .default(sql`replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')`),
  createdAt: ts('created_at').notNull().defaultNow(),
});
export type Program = typeof programs.$inferSelect;

export const members = pgTable(
  'members',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    firstName: text('first_name'),
    lastName: text('last_name'),
    universalIdentifier: text('universal_identifier'),
    experienceStatus: text('experience_status'),
    blockedAt: ts('blocked_at'),
    studioRole: text('studio_role'),
    lastVisitedAt: ts('last_visited_at'),
    accountCreatedAt: ts('account_created_at'),
    registeredAt: ts('registered_at'),
    preferredName: text('preferred_name'),
    profileZip: text('profile_zip'),
    profileJobTitle: text('profile_job_title'),
    profileBirthdate: date('profile_birthdate', { mode: 'string' }),
    attributeCompany: text('attribute_company'),
    attributeDepartment: text('attribute_department'),
    attributeJobDescription: text('attribute_job_description'),
    attributeGender: text('attribute_gender'),
    attributeCity: text('attribute_city'),
    attributeState: text('attribute_state'),
    attributeCountry: text('attribute_country'),
    attributeRegion: text('attribute_region'),
    attributeHireDate: date('attribute_hire_date', { mode: 'string' }),
    attributeStartDate: date('attribute_start_date', { mode: 'string' }),
    attributeLanguage: text('attribute_language'),
    attributeWorkLocation: text('attribute_work_location'),
    attributeTimezone: text('attribute_timezone'),
    attributeLocale: text('attribute_locale'),
    attributeCostCenter: text('attribute_cost_center'),
    attributeDivision: text('attribute_division'),
    attributeManager: text('attribute_manager'),
    attributeEmployeeType: text('attribute_employee_type'),
    attributeBusinessUnit: text('attribute_business_unit'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Maintained by a trigger on every update (see the migration). */
    updatedAt: ts('updated_at')
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [index('members_program_updated_idx').on(t.programId, t.updatedAt, t.id)],
);
export type Member = typeof members.$inferSelect;

export type CampaignTopic = { id: string; name: string; subscriber_count: number };

export const campaigns = pgTable(
  'campaigns',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    name: text('name').notNull(),
    publishAt: ts('publish_at'),
    archiveAt: ts('archive_at'),
    publisherUserId: bigint('publisher_user_id', { mode: 'number' }),
    publisherName: text('publisher_name'),
    authorUserId: bigint('author_user_id', { mode: 'number' }),
    authorName: text('author_name'),
    contentVersion: integer('content_version').notNull().default(1),
    studioUrl: text('studio_url'),
    topics: jsonb('topics').$type<CampaignTopic[]>().notNull().default([]),
    initiatives: jsonb('initiatives').$type<string[]>().notNull().default([]),
    isFeatured: boolean('is_featured').notNull().default(false),
    isShareable: boolean('is_shareable').notNull().default(true),
    isCommentable: boolean('is_commentable').notNull().default(true),
    isTranslatable: boolean('is_translatable').notNull().default(false),
    /** Seconds the campaign runs for; null = open-ended. */
    durationSeconds: integer('duration_seconds'),
    priority: text('priority'),
    acknowledgeable: boolean('acknowledgeable').notNull().default(false),
    authorAliasId: text('author_alias_id'),
    authorAliasName: text('author_alias_name'),
    publicationState: text('publication_state'),
    sourceType: text('source_type'),
    audiences: jsonb('audiences').$type<string[]>().notNull().default([]),
    contentType: text('content_type'),
    channels: jsonb('channels').$type<string[]>().notNull().default([]),
    acknowledgeMessage: text('acknowledge_message'),
    resources: jsonb('resources').$type<string[]>().notNull().default([]),
    forYou: boolean('for_you').notNull().default(false),
    optimizedDelivery: boolean('optimized_delivery').notNull().default(false),
    automaticRetargeting: boolean('automatic_retargeting').notNull().default(false),
    subjectLine: text('subject_line'),
    preview: text('preview'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at')
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [index('campaigns_program_updated_idx').on(t.programId, t.updatedAt, t.id)],
);
export type Campaign = typeof campaigns.$inferSelect;

export const EVENT_TYPES = [
  'like',
  'share',
  'bookmark',
  'email_open',
  'feed_click',
  'email_delivered',
  'email_click',
  'push_click',
  'impression',
  'download',
  'poll_response',
  'acknowledge',
  'assistant_delivered',
  'assistant_open',
  'video_play',
  'push_delivered',
  'link_click',
  'open',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const PLATFORMS = ['web', 'ios', 'android', 'email', 'assistant'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const activityEvents = pgTable(
  'activity_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    programId: bigint('program_id', { mode: 'number' }).notNull(),
    /** The campaign (content) the event is about. */
    contentId: bigint('content_id', { mode: 'number' }).notNull(),
    userId: bigint('user_id', { mode: 'number' }).notNull(),
    eventType: text('event_type', { enum: EVENT_TYPES }).notNull(),
    platform: text('platform', { enum: PLATFORMS }).notNull(),
    occurredAt: ts('occurred_at').notNull(),
    /** Set by the database when the event arrives; exports select by it, so late events are never lost. */
    ingestedAt: ts('ingested_at')
      .notNull()
      .default(sql`clock_timestamp()`),
    linkUrl: text('link_url'),
  },
  (t) => [index('activity_events_program_ingested_idx').on(t.programId, t.ingestedAt, t.id)],
);
export type ActivityEvent = typeof activityEvents.$inferSelect;
