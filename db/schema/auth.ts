// Accounts, their programs, API clients and tokens (stored hashed).
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { ROLES } from './enums';
import { programs } from './source';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export { ROLES, type Role } from './enums';

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name'),
    role: text('role', { enum: ROLES }).notNull(),
    passwordHash: text('password_hash'),
    oidcSubject: text('oidc_subject'),
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    /** When the password was last set: a one-time password expires DDE_ONE_TIME_PASSWORD_TTL_HOURS after it. */
    passwordChangedAt: ts('password_changed_at').notNull().defaultNow(),
    /** Sessions carry the version they were opened at; a password change or reset bumps it and ends them. */
    sessionVersion: integer('session_version').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastSignInAt: ts('last_sign_in_at'),
    disabledAt: ts('disabled_at'),
  },
  (t) => [uniqueIndex('accounts_email_unique').on(sql`lower(${t.email})`)],
);
export type Account = typeof accounts.$inferSelect;

export const programMemberships = pgTable(
  'program_memberships',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.programId] })],
);

export { SCOPES, type Scope } from './enums';

export const apiClients = pgTable(
  'api_clients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    name: text('name').notNull(),
    clientId: text('client_id').notNull().unique(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{data_exports.read}'`),
    createdBy: uuid('created_by').references(() => accounts.id),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [index('api_clients_program_idx').on(t.programId)],
);
export type ApiClient = typeof apiClients.$inferSelect;

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: ['client', 'personal'] }).notNull(),
    apiClientId: uuid('api_client_id').references(() => apiClients.id),
    accountId: uuid('account_id').references(() => accounts.id),
    /** Set for client tokens (one program); null for personal tokens (the account's programs). */
    programId: bigint('program_id', { mode: 'number' }).references(() => programs.id),
    name: text('name'),
    /** SHA-256 of the token; the token itself is shown once. */
    tokenHash: text('token_hash').notNull().unique(),
    tokenPrefix: text('token_prefix').notNull(),
    scopes: text('scopes').array().notNull(),
    expiresAt: ts('expires_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [index('api_tokens_account_idx').on(t.accountId), index('api_tokens_client_idx').on(t.apiClientId)],
);
export type ApiToken = typeof apiTokens.$inferSelect;

/**
 * Request and sign-in budgets shared by every web process (rate-limiter-flexible's Postgres layout:
 * key, points consumed in the current window, window end in epoch milliseconds).
 */
export const rateLimits = pgTable(
  'rate_limits',
  {
    key: varchar('key', { length: 255 }).primaryKey(),
    points: integer('points').notNull().default(0),
    expire: bigint('expire', { mode: 'number' }),
  },
  (t) => [index('rate_limits_expire_idx').on(t.expire)],
);
