// The typed schema as loaders and database destinations read it: one entry per CSV column in the
// same order, snake_case names, the Parquet types the file contract states, and nullability.
import { describe, expect, it } from 'vitest';
import { DATA_FILE_TYPES, headers, SCHEMA_VERSION } from './columns';
import { fileSchema, PARQUET_TYPES, parquetTypeName, snakeCase, VALUE_KINDS, type TypedColumn } from './schema';

const col = (type: (typeof DATA_FILE_TYPES)[number], name: string): TypedColumn => {
  const found = fileSchema(type).columns.find((c) => c.name === name);
  if (!found) throw new Error(`${type} has no column ${name}`);
  return found;
};
const brief = (c: TypedColumn) => `${c.name} ${c.parquet_type}${c.nullable ? '' : ' NOT NULL'}`;

describe('the typed schema', () => {
  it.each(DATA_FILE_TYPES)('%s: one column per CSV header, in order, with unique snake_case names', (type) => {
    const schema = fileSchema(type);
    expect(schema.schema_version).toBe(SCHEMA_VERSION);
    expect(schema.type).toBe(type);
    expect(schema.columns.map((c) => c.header)).toEqual(headers(type));
    const names = schema.columns.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  });

  it('names columns by their headers in snake_case', () => {
    expect(snakeCase('User ID')).toBe('user_id');
    expect(snakeCase('Content Published At')).toBe('content_published_at');
    expect(snakeCase('profile_zip')).toBe('profile_zip');
    expect(snakeCase('Emails Clicks')).toBe('emails_clicks');
  });

  it('types the activity file as the contract says', () => {
    expect(fileSchema('activity').columns.map(brief)).toEqual([
      'content_id STRING NOT NULL',
      'content_name STRING',
      'content_published_at TIMESTAMP(MICROS, UTC)',
      'user_id STRING NOT NULL',
      'user_name STRING',
      'likes INT64 NOT NULL',
      'shares INT64 NOT NULL',
      'bookmarks INT64 NOT NULL',
      'email_opens INT64 NOT NULL',
      'feed_clicks INT64 NOT NULL',
      'emails_delivered INT64 NOT NULL',
      'emails_clicks INT64 NOT NULL',
      'push_clicks INT64 NOT NULL',
      'impressions INT64 NOT NULL',
      'downloads INT64 NOT NULL',
      'poll_responses INT64 NOT NULL',
      'acknowledge_counts INT64 NOT NULL',
      'platform STRING',
      'date TIMESTAMP(MICROS, UTC) NOT NULL',
      'assistant_delivered_count INT64 NOT NULL',
      'assistant_opens INT64 NOT NULL',
      'video_plays INT64 NOT NULL',
      'push_delivered INT64 NOT NULL',
      'link_clicks INT64 NOT NULL',
      'link_clicked STRING',
      'opens INT64 NOT NULL',
      'clicks INT64 NOT NULL',
      'subject_line STRING',
      'preview STRING',
      'generated_at TIMESTAMP(MICROS, UTC) NOT NULL',
      'event_id STRING NOT NULL',
      'event_type STRING',
      'ingested_at TIMESTAMP(MICROS, UTC) NOT NULL',
    ]);
  });

  it('types the multi-valued campaign fields as lists, and the flags, counts and instants', () => {
    const campaign = (n: string) => brief(col('campaign', n));
    expect(campaign('campaign_id')).toBe('campaign_id STRING NOT NULL');
    expect(campaign('topic_id')).toBe('topic_id LIST<STRING> NOT NULL');
    expect(campaign('topic_subscriber_count')).toBe('topic_subscriber_count LIST<INT64> NOT NULL');
    for (const n of ['topic_name', 'initiatives', 'audiences', 'channels', 'resources'])
      expect(campaign(n)).toBe(`${n} LIST<STRING> NOT NULL`);
    expect(campaign('is_featured')).toBe('is_featured BOOLEAN NOT NULL');
    expect(campaign('content_version')).toBe('content_version INT64 NOT NULL');
    expect(campaign('duration')).toBe('duration INT64');
    expect(campaign('publish_date')).toBe('publish_date TIMESTAMP(MICROS, UTC)');
    expect(campaign('updated_at')).toBe('updated_at TIMESTAMP(MICROS, UTC) NOT NULL');
    expect(campaign('publisher_user_id')).toBe('publisher_user_id STRING');
  });

  it('types user dates as DATE, and marks personal data and pseudonymized ids', () => {
    expect(brief(col('user', 'attribute_hire_date'))).toBe('attribute_hire_date DATE');
    expect(brief(col('user', 'profile_birthdate'))).toBe('profile_birthdate DATE');
    expect(col('user', 'profile_birthdate')).toMatchObject({ kind: 'date', pii: true, nullable: true, parquet_physical: 'INT32' });
    expect(col('user', 'first_name')).toMatchObject({ kind: 'string', pii: true, nullable: true, pseudonymized: false });
    expect(col('user', 'user_id')).toMatchObject({ kind: 'string', pii: false, nullable: false, pseudonymized: true });
    expect(col('campaign', 'author_user_id')).toMatchObject({ pseudonymized: true, nullable: true });
    expect(col('activity', 'content_id')).toMatchObject({ pseudonymized: false });
    // Every column is PII, pseudonymized, or neither — never both.
    for (const type of DATA_FILE_TYPES) for (const c of fileSchema(type).columns) expect(c.pii && c.pseudonymized).toBe(false);
  });

  it('gives each value kind one Parquet type, with its physical and logical parts', () => {
    expect(VALUE_KINDS.map((k) => `${k}: ${parquetTypeName(k)}`)).toEqual([
      'string: STRING',
      'int64: INT64',
      'boolean: BOOLEAN',
      'timestamp: TIMESTAMP(MICROS, UTC)',
      'date: DATE',
      'string_list: LIST<STRING>',
      'int64_list: LIST<INT64>',
    ]);
    expect(PARQUET_TYPES.timestamp).toEqual({ physical: 'INT64', logical: 'TIMESTAMP(MICROS,UTC)', list: null });
    expect(PARQUET_TYPES.date).toEqual({ physical: 'INT32', logical: 'DATE', list: null });
    const user = fileSchema('user').columns;
    expect(
      user.every((c) => c.parquet_physical === PARQUET_TYPES[c.kind].physical && c.parquet_logical === PARQUET_TYPES[c.kind].logical),
    ).toBe(true);
  });
});
