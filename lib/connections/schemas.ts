// What an admin may send when setting up or changing a connection (zod, shared by the
// management API, the set-up forms and the tests).
import { z } from 'zod';
import {
  databaseSettingsSchema,
  defaultPort,
  parseDatabaseUrl,
  TLS_MODES,
  type ParsedDatabaseUrl,
} from '@/lib/destinations/database/settings';
import { FORMATS, FREQUENCIES } from '@/db/schema';
import type { SftpSecret } from '@/lib/crypto';
import { destinationFolderProblem, normalizeDestinationFolder } from '@/lib/delivery/folder';
import { FINGERPRINT_PATTERN } from '@/lib/delivery/fingerprint';
import { MAX_ARMORED_KEY_BYTES, normalizePgpFingerprint, PgpKeyError, readRecipientKey } from '@/lib/delivery/pgp';
import { azureSettingsSchema } from '@/lib/destinations/azure-settings';
import { s3SettingsSchema } from '@/lib/destinations/s3-settings';
import { parseServerAddress, resolveServerAddress } from './server-address';

const instant = (label: string) =>
  z.iso
    .datetime({ offset: true, error: `${label} must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z` })
    .transform((v) => new Date(v));

export const contactEmailsSchema = z
  .array(
    z
      .email({
        error: (iss) =>
          typeof iss.input === 'string'
            ? `“${iss.input.length > 60 ? `${iss.input.slice(0, 60)}…` : iss.input}” is not a valid email address.`
            : 'Enter valid email addresses.',
      })
      .max(254),
    { error: 'Enter at least one contact email.' },
  )
  .min(1, 'Enter at least one contact email.')
  .max(20, 'At most 20 contact emails.')
  .transform((list) => Array.from(new Set(list.map((e) => e.trim().toLowerCase()))));

/** The server field: a host name or IP address, or a pasted address (lib/connections/server-address.ts). */
const serverAddressSchema = z
  .string({ error: 'Enter the server host.' })
  .superRefine((value, ctx) => {
    const parsed = parseServerAddress(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
  })
  .describe(
    'Host name or IP address. A pasted address such as sftp://user@sftp.example.com:2222/folder is split into host, port, folder and username; a part given both here and in its own field must agree.',
  );

const portSchema = z.coerce
  .number({ error: 'The port must be a number.' })
  .int('The port must be a whole number.')
  .min(1, 'The port must be between 1 and 65535.')
  .max(65535, 'The port must be between 1 and 65535.');

/** Where an SFTP connection delivers: the host (or a pasted address), port, folder and username. */
export const sftpDestinationFields = {
  host: serverAddressSchema,
  port: portSchema.optional().describe('Default 22, or the port named in host.'),
  folder: z
    .string({ error: 'Enter the destination folder.' })
    .superRefine((value, ctx) => {
      const problem = destinationFolderProblem(value.trim());
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe(
      'The folder that receives the files (absolute, or relative to the login folder). Required unless host names it (sftp://host/folder).',
    ),
  username: z
    .string({ error: 'Enter the username.' })
    .trim()
    .min(1, 'Enter the username.')
    .max(128, 'The username is at most 128 characters.')
    .optional()
    .describe('Required unless host names it (user@host).'),
};

type DestinationInput = { host: string; port?: number; folder?: string; username?: string };

/**
 * The destination fields read together (resolveServerAddress): the host split into its parts, each
 * part given twice checked for agreement, the port defaulting to 22, and the folder and username
 * required from one place or the other. Refuses with the field that has the problem.
 */
export function withServerAddress<T extends DestinationInput>(v: T, ctx: z.RefinementCtx) {
  const same = (a: string, b: string) => normalizeDestinationFolder(a) === normalizeDestinationFolder(b);
  const resolved = resolveServerAddress(v, same);
  if (!resolved.ok) {
    ctx.addIssue({ code: 'custom', path: [resolved.problem.field], message: resolved.problem.message });
    return z.NEVER;
  }
  const { server, address } = resolved;
  if (address.folder !== undefined) {
    const problem = destinationFolderProblem(address.folder);
    if (problem) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: `The folder in the server address is not valid: ${problem}` });
      return z.NEVER;
    }
  }
  // An empty folder field is the login folder, as before addresses named folders.
  const folder = server.folder ?? v.folder;
  if (folder === undefined) {
    ctx.addIssue({ code: 'custom', path: ['folder'], message: 'Enter the destination folder.' });
    return z.NEVER;
  }
  if (server.username === undefined) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'Enter the username.' });
    return z.NEVER;
  }
  return { ...v, host: server.host, port: server.port, folder: normalizeDestinationFolder(folder), username: server.username };
}

/** How DDE signs in to the SFTP server; stored encrypted, never shown again. */
export const sftpAuthSchema = z
  .discriminatedUnion(
    'method',
    [
      z
        .object({
          method: z.literal('password'),
          password: z.string({ error: 'Enter the password.' }).min(1, 'Enter the password.').max(1024),
        })
        .strict(),
      z
        .object({
          method: z.literal('private_key'),
          private_key: z
            .string({ error: 'Paste the private key.' })
            .max(16_384, 'The private key is too long.')
            .refine(
              (k) => /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(k),
              'The private key must be in PEM format (-----BEGIN … PRIVATE KEY-----).',
            ),
          passphrase: z.string().max(1024).optional(),
        })
        .strict(),
    ],
    { error: 'auth.method must be "password" or "private_key".' },
  )
  .transform((a): SftpSecret =>
    a.method === 'password'
      ? { method: 'password', password: a.password }
      : { method: 'private_key', privateKey: a.private_key, ...(a.passphrase ? { passphrase: a.passphrase } : {}) },
  );

export const hostKeyFingerprintSchema = z
  .string({ error: 'Run "Test connection" and confirm the host key first.' })
  .regex(FINGERPRINT_PATTERN, 'The host key fingerprint must look like SHA256:… as "Test connection" shows it.');

const common = {
  name: z.string().trim().max(120, 'The name is at most 120 characters.').optional(),
  frequency: z.enum(FREQUENCIES, { error: `Frequency must be one of ${FREQUENCIES.join(', ')}.` }),
  start_date: instant('Start date'),
  end_date: instant('End date').nullish(),
  contact_emails: contactEmailsSchema,
  format: z.enum(FORMATS, { error: `Format must be one of ${FORMATS.join(', ')}.` }).default('csv'),
};

function checkDates(v: { start_date: Date; end_date?: Date | null }, ctx: z.RefinementCtx) {
  if (v.end_date && v.end_date.getTime() <= v.start_date.getTime()) {
    ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'The end date must be after the start date.' });
  }
}

export const createApiConnectionSchema = z
  .object({ kind: z.literal('api'), ...common })
  .strict()
  .superRefine(checkDates);
export type CreateApiConnectionInput = z.infer<typeof createApiConnectionSchema>;

/**
 * The customer's armored OpenPGP public key, read and checked with openpgp: one public key (not a
 * private one), not revoked or expired, able to encrypt. Asynchronous: parse with safeParseAsync.
 */
export const pgpPublicKeySchema = z
  .string({ error: 'Paste the armored OpenPGP public key.' })
  .max(MAX_ARMORED_KEY_BYTES, 'The OpenPGP key is larger than 64 KB.')
  .transform(async (armored, ctx) => {
    try {
      const key = await readRecipientKey(armored);
      return { armored: `${armored.trim()}\n`, fingerprint: key.fingerprint, userIds: key.userIds, expiresAt: key.expiresAt };
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof PgpKeyError ? err.message : 'The OpenPGP key could not be read.' });
      return z.NEVER;
    }
  });
export type PgpPublicKey = z.output<typeof pgpPublicKeySchema>;

/** The fingerprint the admin confirmed must be the pasted key's (as the host key is for the server). */
function checkPgpKey(v: { pgp_public_key?: PgpPublicKey | null; pgp_key_fingerprint?: string | null }, ctx: z.RefinementCtx) {
  const key = v.pgp_public_key;
  const confirmed = v.pgp_key_fingerprint;
  if (!key) {
    if (confirmed) ctx.addIssue({ code: 'custom', path: ['pgp_key_fingerprint'], message: 'pgp_key_fingerprint needs pgp_public_key.' });
    return;
  }
  if (!confirmed) {
    ctx.addIssue({
      code: 'custom',
      path: ['pgp_key_fingerprint'],
      message: `Confirm the OpenPGP key: send pgp_key_fingerprint "${key.fingerprint}" once its owner has confirmed it is their key.`,
    });
  } else if (normalizePgpFingerprint(confirmed) !== normalizePgpFingerprint(key.fingerprint)) {
    ctx.addIssue({
      code: 'custom',
      path: ['pgp_key_fingerprint'],
      message: `The confirmed fingerprint is not the pasted key's (${key.fingerprint}). Check the key with its owner again.`,
    });
  }
}

export const createSftpConnectionSchema = z
  .object({
    kind: z.literal('sftp'),
    ...common,
    ...sftpDestinationFields,
    auth: sftpAuthSchema,
    /** The host key fingerprint the admin confirmed after "Test connection"; pinned from now on. */
    host_key_fingerprint: hostKeyFingerprintSchema,
    /** Optional: the customer's OpenPGP public key; data files are then delivered encrypted to it (`<name>.pgp`). */
    pgp_public_key: pgpPublicKeySchema
      .nullish()
      .describe('The customer’s armored OpenPGP public key: data files are then encrypted to it and delivered as <name>.pgp.'),
    pgp_key_fingerprint: z
      .string({ error: 'pgp_key_fingerprint must be a string.' })
      .max(200, 'The fingerprint is too long.')
      .nullish()
      .describe('The fingerprint of pgp_public_key the admin confirmed with its owner (spaces optional); required with the key.'),
  })
  .strict()
  .superRefine(checkDates)
  .superRefine(checkPgpKey)
  .transform(withServerAddress);
export type CreateSftpConnectionInput = z.infer<typeof createSftpConnectionSchema>;

/**
 * A database destination (PostgreSQL, or MySQL/MariaDB): host, port, database, schema (PostgreSQL),
 * user, password, TLS mode — or a pasted connection URL (`postgres://user@host:5432/db?sslmode=require`)
 * split into those fields; a part named both in the URL and in its own field must agree. Loads read
 * the gzipped CSV files, so the format is csv.
 */
const databaseConnectionSchema = <K extends 'postgres' | 'mysql'>(kind: K) =>
  z
    .object({
      kind: z.literal(kind),
      ...common,
      format: z.literal('csv', { error: 'A database connection loads CSV files: format must be csv.' }).default('csv'),
      url: z.string().trim().max(2048).optional().describe('A pasted connection URL, split into the fields below.'),
      host: z.string().optional(),
      port: z.coerce.number().optional(),
      database: z.string().optional(),
      schema: z.string().nullish(),
      user: z.string().optional(),
      tls: z.enum(TLS_MODES, { error: `TLS must be one of ${TLS_MODES.join(', ')}.` }).optional(),
      ca_certificate: z.string().max(65536).nullish(),
      table_prefix: z.string().optional(),
      password: z.string({ error: 'Enter the password.' }).min(1, 'Enter the password.').max(1024).optional(),
    })
    .strict()
    .superRefine(checkDates)
    .transform((v, ctx) => {
      let fromUrl: ParsedDatabaseUrl = {};
      if (v.url) {
        try {
          fromUrl = parseDatabaseUrl(v.url);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['url'], message: (err as Error).message });
          return z.NEVER;
        }
        if (fromUrl.engine && fromUrl.engine !== kind) {
          ctx.addIssue({ code: 'custom', path: ['url'], message: `The URL is for ${fromUrl.engine}, but the connection is ${kind}.` });
          return z.NEVER;
        }
      }
      const pick = <F extends 'host' | 'port' | 'database' | 'schema' | 'user' | 'tls' | 'password'>(field: F) => {
        const own = v[field];
        const named = fromUrl[field];
        if (own !== undefined && own !== null && own !== '' && named !== undefined && String(own) !== String(named))
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `The URL says ${field === 'password' ? 'another password' : `${field} ${named}`}; the ${field} field says otherwise.`,
          });
        return own !== undefined && own !== null && own !== '' ? own : named;
      };
      const settings = databaseSettingsSchema.safeParse({
        engine: kind,
        host: pick('host'),
        port: pick('port') ?? defaultPort(kind),
        database: pick('database'),
        schema: pick('schema') ?? null,
        user: pick('user'),
        tls: pick('tls') ?? 'require',
        ca_certificate: v.ca_certificate ?? null,
        table_prefix: v.table_prefix ?? '',
      });
      if (!settings.success) {
        for (const issue of settings.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
        return z.NEVER;
      }
      const password = pick('password');
      if (!password) {
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'Enter the password.' });
        return z.NEVER;
      }
      const {
        url: _url,
        host: _h,
        port: _p,
        database: _d,
        schema: _s,
        user: _u,
        tls: _t,
        ca_certificate: _c,
        table_prefix: _x,
        password: _pw,
        ...rest
      } = v;
      return { ...rest, settings: settings.data, password: String(password) };
    });

export const createPostgresConnectionSchema = databaseConnectionSchema('postgres');
export const createMysqlConnectionSchema = databaseConnectionSchema('mysql');
export type CreateDatabaseConnectionInput = z.output<typeof createPostgresConnectionSchema> | z.output<typeof createMysqlConnectionSchema>;

/** An access key for S3 (an HMAC key for GCS): encrypted at rest, never shown again. */
export const s3CredentialsSchema = z
  .object({
    access_key_id: z.string({ error: 'Enter the access key id.' }).trim().min(1, 'Enter the access key id.').max(256),
    secret_access_key: z.string({ error: 'Enter the secret access key.' }).min(1, 'Enter the secret access key.').max(1024),
  })
  .strict();

/** An S3 destination's settings and, for auth "access_key", its key: at set-up and in its test. */
const s3DestinationFields = {
  destination: s3SettingsSchema,
  credentials: s3CredentialsSchema.nullish().describe('The access key (auth "access_key"); never returned.'),
};

function checkS3Credentials(
  v: { destination: { auth: string }; credentials?: z.infer<typeof s3CredentialsSchema> | null },
  ctx: z.RefinementCtx,
) {
  if (v.destination.auth === 'access_key' && !v.credentials)
    ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'Enter the access key id and secret access key.' });
  if (v.destination.auth === 'role' && v.credentials)
    ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'A role-assuming connection stores no access key.' });
}

/** An Azure destination's settings and its account key or SAS token: at set-up and in its test. */
const azureDestinationFields = {
  destination: azureSettingsSchema.omit({ sas_expires_at: true }),
  credentials: z
    .union([
      z.object({ account_key: z.string().min(1, 'Enter the account key.').max(200) }).strict(),
      z.object({ sas_token: z.string().min(1, 'Enter the SAS token.').max(2048) }).strict(),
    ])
    .describe('The account key, or a SAS token (auth "sas"); never returned.'),
};

function checkAzureCredentials(
  v: { destination: { auth: string }; credentials: { account_key: string } | { sas_token: string } },
  ctx: z.RefinementCtx,
) {
  const isSas = 'sas_token' in v.credentials;
  if ((v.destination.auth === 'sas') !== isSas)
    ctx.addIssue({
      code: 'custom',
      path: ['credentials'],
      message: v.destination.auth === 'sas' ? 'Enter the SAS token (sas_token).' : 'Enter the account key (account_key).',
    });
}

export const createS3ConnectionSchema = z
  .object({ kind: z.literal('s3'), ...common, ...s3DestinationFields })
  .strict()
  .superRefine(checkDates)
  .superRefine(checkS3Credentials);
export type CreateS3ConnectionInput = z.infer<typeof createS3ConnectionSchema>;

export const createAzureConnectionSchema = z
  .object({ kind: z.literal('azure_blob'), ...common, ...azureDestinationFields })
  .strict()
  .superRefine(checkDates)
  .superRefine(checkAzureCredentials);
export type CreateAzureConnectionInput = z.infer<typeof createAzureConnectionSchema>;

/** "Test connection" of a cloud destination before it is saved: the fields its set-up would send, without the schedule. */
export const testDestinationSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .object({ kind: z.literal('s3'), ...s3DestinationFields })
      .strict()
      .superRefine(checkS3Credentials),
    z
      .object({ kind: z.literal('azure_blob'), ...azureDestinationFields })
      .strict()
      .superRefine(checkAzureCredentials),
  ],
  { error: 'kind must be "s3" or "azure_blob".' },
);
export type TestDestinationInput = z.infer<typeof testDestinationSchema>;

export const createConnectionSchema = z.discriminatedUnion(
  'kind',
  [
    createApiConnectionSchema,
    createSftpConnectionSchema,
    createPostgresConnectionSchema,
    createMysqlConnectionSchema,
    createS3ConnectionSchema,
    createAzureConnectionSchema,
  ],
  { error: 'kind must be "sftp", "api", "postgres", "mysql", "s3" or "azure_blob".' },
);
export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;

/**
 * Fields an edit never changes: to change them, delete the connection and create a new one. The
 * credentials (auth, and the host key with them) and the OpenPGP key are replaced on their own, while
 * stopped (lib/connections/credentials.ts, lib/connections/pgp-key.ts).
 */
export const IMMUTABLE_FIELDS = [
  'kind',
  'host',
  'port',
  'folder',
  'username',
  'format',
  'auth',
  'host_key_fingerprint',
  'pgp_public_key',
  'pgp_key_fingerprint',
  'end_date',
] as const;

/** Only frequency, start date and contact emails change, and only while the connection is stopped. */
export const editConnectionSchema = z
  .object({
    frequency: common.frequency.optional(),
    start_date: common.start_date.optional(),
    contact_emails: contactEmailsSchema.optional(),
    name: common.name,
  })
  .catchall(z.unknown())
  .superRefine((v, ctx) => {
    for (const key of Object.keys(v)) {
      if (key === 'auth' || key === 'host_key_fingerprint') {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} cannot be edited here. Replace the credentials with POST /api/v1/connections/{id}/credentials while the connection is stopped.`,
        });
      } else if (key === 'pgp_public_key' || key === 'pgp_key_fingerprint') {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} cannot be edited here. Replace the OpenPGP key with POST /api/v1/connections/{id}/pgp-key while the connection is stopped.`,
        });
      } else if ((IMMUTABLE_FIELDS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} cannot be changed. Delete this connection and create a new one with the new ${key}.`,
        });
      } else if (!['frequency', 'start_date', 'contact_emails', 'name'].includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Unknown field ${key}. Only frequency, start_date, contact_emails and name can be edited.`,
        });
      }
    }
  });
export type EditConnectionInput = z.infer<typeof editConnectionSchema>;

/**
 * A new OpenPGP key for a stopped SFTP connection (a renewed key before the old one expires, or a
 * first key for a connection delivered unencrypted so far): checked and confirmed as at set-up.
 */
export const replacePgpKeySchema = z
  .object({
    pgp_public_key: pgpPublicKeySchema.describe(
      'The customer’s new armored OpenPGP public key: data files are encrypted to it from the next delivery.',
    ),
    pgp_key_fingerprint: z
      .string({ error: 'pgp_key_fingerprint must be a string.' })
      .max(200, 'The fingerprint is too long.')
      .nullish()
      .describe('The fingerprint of pgp_public_key the admin confirmed with its owner (spaces optional); required.'),
  })
  .strict()
  .superRefine(checkPgpKey);
export type ReplacePgpKeyInput = z.infer<typeof replacePgpKeySchema>;

/**
 * New credentials for a stopped connection (its destination never changes), in the field of its
 * kind: `auth` (SFTP), `password` (PostgreSQL, MySQL), `credentials` (S3 access key; Azure account
 * key or SAS token). The destination's test runs again with them before they are saved; for SFTP the
 * pinned host key stays unless a new one is given and accepted explicitly.
 */
export const replaceCredentialsSchema = z
  .object({
    auth: sftpAuthSchema.optional().describe('SFTP: the new password or private key.'),
    host_key_fingerprint: hostKeyFingerprintSchema
      .optional()
      .describe('SFTP: the host key the test must see. Left out: the pinned one. Another one needs accept_changed_host_key: true.'),
    accept_changed_host_key: z
      .boolean({ error: 'accept_changed_host_key must be true or false.' })
      .optional()
      .describe('SFTP: true to pin host_key_fingerprint although it differs from the pinned key (the server’s key was replaced).'),
    password: z
      .string({ error: 'Enter the password.' })
      .min(1, 'Enter the password.')
      .max(1024, 'The password is at most 1024 characters.')
      .optional()
      .describe('PostgreSQL, MySQL: the new password of the connection’s user.'),
    credentials: z
      .union(
        [
          s3CredentialsSchema,
          z.object({ account_key: z.string().min(1, 'Enter the account key.').max(200, 'The account key is too long.') }).strict(),
          z.object({ sas_token: z.string().min(1, 'Enter the SAS token.').max(2048, 'The SAS token is too long.') }).strict(),
        ],
        { error: 'credentials must be { access_key_id, secret_access_key } (S3), { account_key } or { sas_token } (Azure).' },
      )
      .optional()
      .describe('S3: the new access key; Azure Blob: the new account key or SAS token.'),
  })
  .strict()
  .superRefine((v, ctx) => {
    const given = (['auth', 'password', 'credentials'] as const).filter((k) => v[k] !== undefined);
    if (given.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: 'Enter the new secret: auth (SFTP), password (database) or credentials (S3, Azure).',
      });
    else if (given.length > 1)
      ctx.addIssue({ code: 'custom', path: [given[1]], message: `Send one new secret: ${given.join(' and ')} were both given.` });
  });
export type ReplaceCredentialsInput = z.infer<typeof replaceCredentialsSchema>;

export const pauseConnectionSchema = z
  .object({ mode: z.enum(['after_transfer', 'immediately'], { error: 'mode must be "after_transfer" or "immediately".' }) })
  .strict();
