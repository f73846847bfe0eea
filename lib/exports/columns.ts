// The three export file specs: headers in contract order (docs/export-files.md) and, for each column,
// how PostgreSQL computes it. The headers are a public contract — change them only with a new
// schema_version. Formatting is done in SQL so COPY can stream the bytes untouched.
import type { EventType } from '@/db/schema/source';

export const SCHEMA_VERSION = 1;

export const DATA_FILE_TYPES = ['user', 'campaign', 'activity'] as const;
export type DataFileType = (typeof DATA_FILE_TYPES)[number];

/**
 * How a column is rendered. CSV: everything becomes text (booleans true/false, arrays as compact
 * JSON). JSON Lines: counts are numbers, booleans booleans, arrays arrays; ids are strings so a
 * pseudonymized id and a raw id have the same JSON type.
 */
export type ColumnKind =
  | 'text' // nullable text; '' is exported as null (an empty field)
  | 'pii' // text blanked for anonymized programs
  | 'id' // numeric id (not a user)
  | 'user_id' // a user id: pseudonymized for anonymized programs
  | 'int' // a count or number
  | 'bool'
  | 'timestamp' // ISO 8601 UTC with seconds
  | 'date' // YYYY-MM-DD
  | 'json' // already json (an array)
  | 'literal'; // a constant supplied at generation (Generated At)

/**
 * What typed formats (Parquet, database tables; lib/exports/schema.ts) need beyond the text
 * rendering: `value` when the column's value is not what its kind says (a date kept as PII, a
 * timestamp the SQL pre-formats, an array of counts), `expr` the untyped SQL expression in that
 * case, and `nullable` when it differs from the kind's default (see schema.ts).
 */
export type TypedHint = { value?: 'timestamp' | 'date' | 'int64_list'; expr?: string; nullable?: boolean };

export type Column = { header: string; kind: ColumnKind; expr: string; typed?: TypedHint };

const c = (header: string, kind: ColumnKind, expr: string, typed?: TypedHint): Column =>
  typed ? { header, kind, expr, typed } : { header, kind, expr };
const NOT_NULL: TypedHint = { nullable: false };
const NULLABLE: TypedHint = { nullable: true };

export const USER_COLUMNS: Column[] = [
  c('User ID', 'user_id', 'm.id'),
  c('First Name', 'pii', 'm.first_name'),
  c('Last Name', 'pii', 'm.last_name'),
  c('Universal Identifier', 'pii', 'm.universal_identifier'),
  c('Experience Status', 'text', 'm.experience_status'),
  c('Blocked At', 'timestamp', 'm.blocked_at'),
  c('Studio Role', 'text', 'm.studio_role'),
  c('Last Visited Date', 'timestamp', 'm.last_visited_at'),
  c('Account Created Date', 'timestamp', 'm.account_created_at'),
  c('Registered Date', 'timestamp', 'm.registered_at'),
  c('Preferred Name', 'pii', 'm.preferred_name'),
  c('profile_zip', 'pii', 'm.profile_zip'),
  c('profile_job_title', 'text', 'm.profile_job_title'),
  c('profile_birthdate', 'pii', "to_char(m.profile_birthdate, 'YYYY-MM-DD')", { value: 'date', expr: 'm.profile_birthdate' }),
  c('attribute_company', 'text', 'm.attribute_company'),
  c('attribute_department', 'text', 'm.attribute_department'),
  c('attribute_job_description', 'text', 'm.attribute_job_description'),
  c('attribute_gender', 'text', 'm.attribute_gender'),
  c('attribute_city', 'text', 'm.attribute_city'),
  c('attribute_state', 'text', 'm.attribute_state'),
  c('attribute_country', 'text', 'm.attribute_country'),
  c('attribute_region', 'text', 'm.attribute_region'),
  c('attribute_hire_date', 'date', 'm.attribute_hire_date'),
  c('attribute_start_date', 'date', 'm.attribute_start_date'),
  c('attribute_language', 'text', 'm.attribute_language'),
  c('attribute_work_location', 'text', 'm.attribute_work_location'),
  c('attribute_timezone', 'text', 'm.attribute_timezone'),
  c('attribute_locale', 'text', 'm.attribute_locale'),
  c('attribute_cost_center', 'text', 'm.attribute_cost_center'),
  c('attribute_division', 'text', 'm.attribute_division'),
  c('attribute_manager', 'pii', 'm.attribute_manager'),
  c('attribute_employee_type', 'text', 'm.attribute_employee_type'),
  c('attribute_business_unit', 'text', 'm.attribute_business_unit'),
  c('Updated At', 'timestamp', 'm.updated_at', NOT_NULL),
  c('Generated At', 'literal', 'generated_at'),
];

/** Compact JSON array of the text values of a jsonb array (jsonb::text would add spaces). */
const jsonTexts = (expr: string) => `to_json(array(select jsonb_array_elements_text(${expr})))`;
/** One field of every topic, in topic order: Topic ID / Name / Subscriber Count are parallel arrays. */
const topicField = (field: string, cast: string) =>
  `to_json(array(select (t.v->>'${field}')::${cast} from jsonb_array_elements(g.topics) with ordinality as t(v, i) order by t.i))`;

export const CAMPAIGN_COLUMNS: Column[] = [
  c('Campaign Name', 'text', 'g.name'),
  c('Campaign ID', 'id', 'g.id'),
  c('Publish Date', 'timestamp', 'g.publish_at'),
  c('Archive Date', 'timestamp', 'g.archive_at'),
  c('Publisher User ID', 'user_id', 'g.publisher_user_id', NULLABLE),
  c('Publisher Name', 'pii', 'g.publisher_name'),
  c('Author User ID', 'user_id', 'g.author_user_id', NULLABLE),
  c('Author Name', 'pii', 'g.author_name'),
  c('Content Version', 'int', 'g.content_version'),
  c('Studio URL', 'text', 'g.studio_url'),
  c('Topic ID', 'json', topicField('id', 'text')),
  c('Topic Name', 'json', topicField('name', 'text')),
  c('Topic Subscriber Count', 'json', topicField('subscriber_count', 'bigint'), { value: 'int64_list' }),
  c('Initiatives', 'json', jsonTexts('g.initiatives')),
  c('Is Featured', 'bool', 'g.is_featured'),
  c('Is Shareable', 'bool', 'g.is_shareable'),
  c('Is Commentable', 'bool', 'g.is_commentable'),
  c('Is Translatable', 'bool', 'g.is_translatable'),
  c('Duration', 'int', 'g.duration_seconds', NULLABLE),
  c('Priority', 'text', 'g.priority'),
  c('Acknowledgeable', 'bool', 'g.acknowledgeable'),
  c('Author Alias ID', 'text', 'g.author_alias_id'),
  c('Author Alias Name', 'pii', 'g.author_alias_name'),
  c('Publication State', 'text', 'g.publication_state'),
  c('Source Type', 'text', 'g.source_type'),
  c('Audiences', 'json', jsonTexts('g.audiences')),
  c('Content Type', 'text', 'g.content_type'),
  c('Channels', 'json', jsonTexts('g.channels')),
  c('Acknowledge Message', 'text', 'g.acknowledge_message'),
  c('Resources', 'json', jsonTexts('g.resources')),
  c('For You', 'bool', 'g.for_you'),
  c('Optimized Delivery', 'bool', 'g.optimized_delivery'),
  c('Automatic Retargeting', 'bool', 'g.automatic_retargeting'),
  c('Subject Line', 'text', 'g.subject_line'),
  c('Preview', 'text', 'g.preview'),
  c('Generated At', 'literal', 'generated_at'),
  c('Updated At', 'timestamp', 'g.updated_at', NOT_NULL),
];

/** event_type → the count columns it sets to 1 (docs/export-files.md, "Columns"). */
export const EVENT_COUNT_COLUMNS: Record<string, EventType[]> = {
  Likes: ['like'],
  Shares: ['share'],
  Bookmarks: ['bookmark'],
  'Email Opens': ['email_open'],
  'Feed Clicks': ['feed_click'],
  'Emails Delivered': ['email_delivered'],
  'Emails Clicks': ['email_click'],
  'Push Clicks': ['push_click'],
  Impressions: ['impression'],
  Downloads: ['download'],
  'Poll Responses': ['poll_response'],
  'Acknowledge Counts': ['acknowledge'],
  'Assistant Delivered Count': ['assistant_delivered'],
  'Assistant Opens': ['assistant_open'],
  'Video Plays': ['video_play'],
  'Push Delivered': ['push_delivered'],
  'Link Clicks': ['link_click'],
  Opens: ['email_open', 'assistant_open', 'open'],
  Clicks: ['feed_click', 'email_click', 'push_click', 'link_click'],
};

/**
 * The count columns come from one lookup per row: `k` holds, for each event type, the value (0 or
 * 1) of every count column, and each column reads its own (`k.n<i>`; an event type not listed counts
 * nowhere). One hash probe per row instead of 19 comparisons, each cast to int: the same bytes for
 * less of PostgreSQL's time (bench/export-profile.ts).
 */
const COUNT_HEADERS = Object.keys(EVENT_COUNT_COLUMNS);
const COUNTED_TYPES = [...new Set(Object.values(EVENT_COUNT_COLUMNS).flat())];
const COUNT_LOOKUP =
  `k (event_type, ${COUNT_HEADERS.map((_, i) => `n${i}`).join(', ')}) as (values ` +
  COUNTED_TYPES.map((t) => `('${t}', ${COUNT_HEADERS.map((h) => (EVENT_COUNT_COLUMNS[h].includes(t) ? 1 : 0)).join(', ')})`).join(', ') +
  ')';

const count = (header: string): Column => c(header, 'int', `coalesce(k.n${COUNT_HEADERS.indexOf(header)}, 0)`);

export const ACTIVITY_COLUMNS: Column[] = [
  c('Content ID', 'id', 'e.content_id'),
  // Campaign fields come pre-formatted from the `g` CTE (once per campaign, not once per event).
  c('Content Name', 'text', 'g.name'),
  c('Content Published At', 'text', 'g.published_at', { value: 'timestamp', expr: 'g.publish_at' }),
  c('User ID', 'user_id', 'e.user_id'),
  c('User Name', 'pii', "concat_ws(' ', nullif(m.first_name, ''), nullif(m.last_name, ''))"),
  count('Likes'),
  count('Shares'),
  count('Bookmarks'),
  count('Email Opens'),
  count('Feed Clicks'),
  count('Emails Delivered'),
  count('Emails Clicks'),
  count('Push Clicks'),
  count('Impressions'),
  count('Downloads'),
  count('Poll Responses'),
  count('Acknowledge Counts'),
  c('Platform', 'text', 'e.platform'),
  c('Date', 'timestamp', 'e.occurred_at', NOT_NULL),
  count('Assistant Delivered Count'),
  count('Assistant Opens'),
  count('Video Plays'),
  count('Push Delivered'),
  count('Link Clicks'),
  c('Link Clicked', 'text', "case when e.event_type = 'link_click' then e.link_url end"),
  count('Opens'),
  count('Clicks'),
  c('Subject Line', 'text', 'g.subject_line'),
  c('Preview', 'text', 'g.preview'),
  c('Generated At', 'literal', 'generated_at'),
  c('Event ID', 'id', 'e.id'),
  c('Event Type', 'text', 'e.event_type'),
  c('Ingested At', 'timestamp', 'e.ingested_at', NOT_NULL),
];

export type FileSpec = {
  fileType: DataFileType;
  columns: Column[];
  /** Optional CTEs (without WITH); `:program` stands for the program id. */
  with?: string;
  /** FROM clause (tables and program-scoped joins). */
  from: string;
  /** The program column of the selected table. */
  programColumn: string;
  /** The selecting column (update or ingestion time). */
  timeColumn: string;
  orderBy: string;
};

export const FILE_SPECS: Record<DataFileType, FileSpec> = {
  user: {
    fileType: 'user',
    columns: USER_COLUMNS,
    from: 'members m',
    programColumn: 'm.program_id',
    timeColumn: 'm.updated_at',
    orderBy: 'm.updated_at, m.id',
  },
  campaign: {
    fileType: 'campaign',
    columns: CAMPAIGN_COLUMNS,
    from: 'campaigns g',
    programColumn: 'g.program_id',
    timeColumn: 'g.updated_at',
    orderBy: 'g.updated_at, g.id',
  },
  activity: {
    fileType: 'activity',
    columns: ACTIVITY_COLUMNS,
    // The program's campaigns are formatted once (a program has hundreds or thousands, a window
    // can have millions of events). Members are joined plainly: a program can have a million of
    // them and a window touches few. Both joins stay within the program. `k` gives the count columns.
    with:
      'g as materialized (select id, name, subject_line, preview, publish_at, ' +
      `to_char(publish_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as published_at from campaigns where program_id = :program), ` +
      COUNT_LOOKUP,
    from:
      'activity_events e left join g on g.id = e.content_id ' +
      'left join members m on m.id = e.user_id and m.program_id = e.program_id ' +
      'left join k on k.event_type = e.event_type',
    programColumn: 'e.program_id',
    timeColumn: 'e.ingested_at',
    orderBy: 'e.ingested_at, e.id',
  },
};

/** The header line of a CSV file, `\n`-terminated. Headers never need quoting. */
export function csvHeader(fileType: DataFileType): string {
  return FILE_SPECS[fileType].columns.map((col) => col.header).join(',') + '\n';
}

export function headers(fileType: DataFileType): string[] {
  return FILE_SPECS[fileType].columns.map((col) => col.header);
}
