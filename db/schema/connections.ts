// Recurring data connections and historical data requests.
import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { accounts, apiClients } from './auth';
import { CONNECTION_KINDS, CONNECTION_STATUSES, FORMATS, FREQUENCIES, HISTORICAL_STATUSES, REPORT_MODES } from './enums';
import { programs } from './source';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export {
  CONNECTION_KINDS,
  CONNECTION_STATUSES,
  FREQUENCIES,
  FORMATS,
  HISTORICAL_STATUSES,
  type ConnectionKind,
  type ConnectionStatus,
  type Frequency,
  type ExportFormat,
  REPORT_MODES,
  type ReportMode,
  KIND_PUSHES,
  PUSHED_KINDS,
  kindPushes,
} from './enums';

export const connections = pgTable(
  'connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    kind: text('kind', { enum: CONNECTION_KINDS }).notNull(),
    name: text('name'),
    status: text('status', { enum: CONNECTION_STATUSES }).notNull().default('active'),
    /** How a pause was requested: 'after_transfer' or 'immediately' (null when not pausing). */
    pauseMode: text('pause_mode', { enum: ['after_transfer', 'immediately'] }),
    frequency: text('frequency', { enum: FREQUENCIES }).notNull(),
    startDate: ts('start_date').notNull(),
    endDate: ts('end_date'),
    contactEmails: text('contact_emails')
      .array()
      .notNull()
      .default(sql`'{}'`),
    format: text('format', { enum: FORMATS }).notNull().default('csv'),
    // SFTP destination: immutable after creation (delete and recreate to change).
    sftpHost: text('sftp_host'),
    sftpPort: integer('sftp_port'),
    sftpFolder: text('sftp_folder'),
    sftpUsername: text('sftp_username'),
    authMethod: text('auth_method', { enum: ['password', 'private_key'] }),
    /** AES-256-GCM ciphertext of the destination's secret (SFTP password or key + passphrase, cloud keys); associated data = connection id. */
    secretCiphertext: text('secret_ciphertext'),
    hostKeyFingerprint: text('host_key_fingerprint'),
    /**
     * A destination other than SFTP (cloud storage, databases): its non-secret settings as its kind's
     * zod schema validated them (lib/destinations, `settingsSchema`), immutable after creation. Its
     * secret, if any, is `secret_ciphertext` like SFTP's. Null for SFTP (its sftp_* columns) and API.
     */
    destination: jsonb('destination').$type<Record<string, unknown>>(),
    /**
     * The customer's armored OpenPGP public key (public, not a secret): when set, data files are
     * encrypted to it on the way out and delivered as `<name>.pgp`. Replaced only while the connection
     * is stopped (lib/connections/pgp-key.ts).
     */
    pgpPublicKey: text('pgp_public_key'),
    /** Its primary key's fingerprint as gpg prints it ("ABCD 1234 …"), which the admin confirmed. */
    pgpKeyFingerprint: text('pgp_key_fingerprint'),
    /** The key's user IDs ("Name <email>"), shown beside the fingerprint. */
    pgpKeyUserIds: text('pgp_key_user_ids').array(),
    /** When the key (or its encryption subkey) expires; null when it never does. */
    pgpKeyExpiresAt: ts('pgp_key_expires_at'),
    /** Planner cursor: every window that ends at or before this instant is in the ledger. */
    plannedThrough: ts('planned_through'),
    lastTestedAt: ts('last_tested_at'),
    /** Which runs the contacts hear about; null = the kind's default (SFTP every run, API failures only). */
    reportMode: text('report_mode', { enum: REPORT_MODES }),
    /** Pause by itself after this many consecutive failed windows (0 = never). */
    autoPauseAfter: integer('auto_pause_after').notNull().default(5),
    /** The daily check's last verdict ('ok' | an error code), so only changes are reported. */
    healthStatus: text('health_status'),
    createdBy: uuid('created_by').references(() => accounts.id),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
  },
  (t) => [
    index('connections_program_idx').on(t.programId),
    index('connections_status_idx').on(t.status),
    // What a run's (connection, program) pair references: one foreign key check per planned run, not two.
    unique('connections_id_program_unique').on(t.id, t.programId),
  ],
);
export type Connection = typeof connections.$inferSelect;

/** The API connection(s) an API client reads: its feed (the Export API answers only their files). */
export const apiClientConnections = pgTable(
  'api_client_connections',
  {
    clientId: uuid('client_id')
      .notNull()
      .references(() => apiClients.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.connectionId] }), index('api_client_connections_connection_idx').on(t.connectionId)],
);

export const historicalRequests = pgTable(
  'historical_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    rangeStart: ts('range_start').notNull(),
    rangeEnd: ts('range_end').notNull(),
    status: text('status', { enum: HISTORICAL_STATUSES }).notNull().default('pending'),
    chunksTotal: integer('chunks_total').notNull().default(0),
    chunksDone: integer('chunks_done').notNull().default(0),
    rowsExported: bigint('rows_exported', { mode: 'number' }).notNull().default(0),
    error: text('error'),
    requestedBy: uuid('requested_by').references(() => accounts.id),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('historical_requests_connection_idx').on(t.connectionId)],
);
export type HistoricalRequest = typeof historicalRequests.$inferSelect;
