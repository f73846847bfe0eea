// What an admin may send when setting up or changing a connection (zod, shared by the
// management API, the set-up forms and the tests).
import { z } from 'zod';
import { FORMATS, FREQUENCIES } from '@/db/schema';
import type { ConnectionSecret } from '@/lib/crypto';
import { destinationFolderSchema } from '@/lib/delivery/folder';
import { FINGERPRINT_PATTERN } from '@/lib/delivery/fingerprint';

const instant = (label: string) =>
  z.iso
    .datetime({ offset: true, error: `${label} must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z` })
    .transform((v) => new Date(v));

export const contactEmailsSchema = z
  .array(z.email({ error: 'Enter valid email addresses.' }).max(254), { error: 'Enter at least one contact email.' })
  .min(1, 'Enter at least one contact email.')
  .max(20, 'At most 20 contact emails.')
  .transform((list) => Array.from(new Set(list.map((e) => e.trim().toLowerCase()))));

const hostname = z
  .string({ error: 'Enter the server host.' })
  .trim()
  .min(1, 'Enter the server host.')
  .max(253, 'The host name is too long.')
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\d{1,3}(?:\.\d{1,3}){3}$|^\[?[0-9A-Fa-f:]+\]?$/,
    'Enter a host name or IP address, without a scheme or path.',
  );

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
  .transform((a): ConnectionSecret =>
    a.method === 'password'
      ? { method: 'password', password: a.password }
      : { method: 'private_key', privateKey: a.private_key, ...(a.passphrase ? { passphrase: a.passphrase } : {}) },
  );

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

export const createSftpConnectionSchema = z
  .object({
    kind: z.literal('sftp'),
    ...common,
    host: hostname,
    port: z.coerce
      .number({ error: 'The port must be a number.' })
      .int()
      .min(1, 'The port must be between 1 and 65535.')
      .max(65535, 'The port must be between 1 and 65535.')
      .default(22),
    folder: destinationFolderSchema,
    username: z.string({ error: 'Enter the username.' }).trim().min(1, 'Enter the username.').max(128),
    auth: sftpAuthSchema,
    /** The host key fingerprint the admin confirmed after "Test connection"; pinned from now on. */
    host_key_fingerprint: z
      .string({ error: 'Run "Test connection" and confirm the host key first.' })
      .regex(FINGERPRINT_PATTERN, 'The host key fingerprint must look like SHA256:… as "Test connection" shows it.'),
  })
  .strict()
  .superRefine(checkDates);
export type CreateSftpConnectionInput = z.infer<typeof createSftpConnectionSchema>;

export const createConnectionSchema = z.discriminatedUnion('kind', [createApiConnectionSchema, createSftpConnectionSchema], {
  error: 'kind must be "sftp" or "api".',
});
export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;

/** Fields that never change after creation: to change them, delete the connection and create a new one. */
export const IMMUTABLE_FIELDS = [
  'kind',
  'host',
  'port',
  'folder',
  'username',
  'format',
  'auth',
  'host_key_fingerprint',
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
      if ((IMMUTABLE_FIELDS as readonly string[]).includes(key)) {
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

export const pauseConnectionSchema = z
  .object({ mode: z.enum(['after_transfer', 'immediately'], { error: 'mode must be "after_transfer" or "immediately".' }) })
  .strict();
