// An S3 (or S3-compatible) destination's settings as the API takes them and `connections.destination`
// keeps them (never its secret), and the key layout a lake can sit on (docs/export-files.md,
// "Cloud storage layout"). zod only: client-safe, so the set-up form validates with the same rules.
import { z } from 'zod';

export const S3_PROVIDERS = ['aws', 'gcs', 's3_compatible'] as const;
export type S3Provider = (typeof S3_PROVIDERS)[number];
export const S3_SSE = ['none', 'AES256', 'aws:kms'] as const;
export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'REDUCED_REDUNDANCY',
] as const;

/** GCS's S3-compatible (XML API) endpoint, used with HMAC keys. */
export const GCS_ENDPOINT = 'https://storage.googleapis.com';

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a key prefix is refused, or null. */
export function prefixProblem(prefix: string): string | null {
  if (prefix.length > 512) return 'The prefix is at most 512 characters.';
  if (CONTROL.test(prefix)) return 'The prefix must not contain control characters.';
  if (prefix.includes('\\')) return 'Separate the prefix’s folders with "/", not "\\".';
  if (prefix.startsWith('/')) return 'Write the prefix without a leading "/" (e.g. "dde/exports").';
  if (prefix.split('/').some((s) => s === '..' || s === '.')) return 'The prefix must not contain "." or ".." segments.';
  return null;
}

export const keyPrefixSchema = z
  .string({ error: 'prefix must be a string.' })
  .trim()
  .superRefine((v, ctx) => {
    const problem = prefixProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => v.replace(/\/{2,}/g, '/').replace(/\/+$/, ''));

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(?:\d{12})?:role\/[\w+=,.@/-]{1,512}$/;

export const s3SettingsSchema = z
  .object({
    provider: z.enum(S3_PROVIDERS, { error: `provider must be one of ${S3_PROVIDERS.join(', ')}.` }),
    bucket: z
      .string({ error: 'Enter the bucket name.' })
      .trim()
      .regex(BUCKET, 'The bucket name is 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit.'),
    prefix: keyPrefixSchema.default(''),
    region: z
      .string({ error: 'region must be a string.' })
      .trim()
      .regex(/^[a-z0-9-]{2,40}$/, 'The region is its code, such as us-east-1 or eu-west-2 ("auto" for R2).')
      .default('us-east-1'),
    endpoint: z
      .url({ protocol: /^https?$/, error: 'The endpoint is an http:// or https:// URL, such as https://minio.example.com:9000.' })
      .max(300, 'The endpoint is at most 300 characters.')
      .transform((u) => u.replace(/\/+$/, ''))
      .nullish(),
    path_style: z.boolean({ error: 'path_style must be true or false.' }).default(false),
    auth: z.enum(['role', 'access_key'], { error: 'auth must be "role" (AssumeRole with an external id) or "access_key".' }),
    role_arn: z.string().trim().regex(ROLE_ARN, 'The role ARN looks like arn:aws:iam::123456789012:role/dde-delivery.').nullish(),
    /** Issued by DDE (lib/destinations/s3-external-id.ts), the trust policy's sts:ExternalId. */
    external_id: z.string().trim().max(100).nullish(),
    sse: z.enum(S3_SSE, { error: `sse must be one of ${S3_SSE.join(', ')}.` }).default('none'),
    kms_key_id: z.string().trim().min(1).max(2048, 'The KMS key id is at most 2048 characters.').nullish(),
    storage_class: z.enum(S3_STORAGE_CLASSES, { error: `storage_class must be one of ${S3_STORAGE_CLASSES.join(', ')}.` }).nullish(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.provider === 's3_compatible' && !v.endpoint)
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'An S3-compatible server needs its endpoint URL.' });
    if (v.auth === 'role') {
      if (v.provider !== 'aws')
        ctx.addIssue({
          code: 'custom',
          path: ['auth'],
          message: 'Role assumption is for Amazon S3; use an access key (HMAC key for GCS).',
        });
      if (!v.role_arn) ctx.addIssue({ code: 'custom', path: ['role_arn'], message: 'Enter the ARN of the role DDE assumes.' });
      if (!v.external_id)
        ctx.addIssue({ code: 'custom', path: ['external_id'], message: 'Use the external id DDE issued for this connection.' });
    }
    if (v.sse === 'aws:kms' && !v.kms_key_id)
      ctx.addIssue({ code: 'custom', path: ['kms_key_id'], message: 'Server-side encryption with KMS needs the key id or ARN.' });
    if (v.sse !== 'aws:kms' && v.kms_key_id)
      ctx.addIssue({ code: 'custom', path: ['kms_key_id'], message: 'kms_key_id goes with sse "aws:kms" only.' });
  });
export type S3Settings = z.output<typeof s3SettingsSchema>;

/** The endpoint DDE talks to (undefined: AWS's own for the region). */
export function s3EndpointOf(s: Pick<S3Settings, 'provider' | 'endpoint'>): string | undefined {
  if (s.provider === 'gcs') return s.endpoint ?? GCS_ENDPOINT;
  return s.endpoint ?? undefined;
}

/** A file's place in a lake layout: what the key of a delivered file is made of. */
export type LayoutFile = { name: string; fileType?: string; kind?: 'data' | 'sidecar' | 'manifest' };

/** The file type a contract name carries (`<program>-<mm-dd-yyyy-hh>-<file type>-<export type>…`). */
function fileTypeOfName(name: string): string {
  const m = /^\d+-\d{2}-\d{2}-\d{4}-\d{2}-([a-z]+)-/.exec(name);
  return m ? m[1] : 'other';
}

/**
 * The object key of a delivered file: `<prefix>/<export type>/<file type>/dt=<YYYY-MM-DD>/<name>`,
 * the date being the window's start (UTC); a sidecar beside its data file; the manifest under
 * `<prefix>/<export type>/manifest/dt=<YYYY-MM-DD>/`. Deterministic: a retry writes the same keys.
 */
export function lakeKey(prefix: string, run: { exportType: string; windowStart: Date }, file: LayoutFile): string {
  const type = file.kind === 'manifest' ? 'manifest' : (file.fileType ?? fileTypeOfName(file.name));
  const dt = run.windowStart.toISOString().slice(0, 10);
  return [prefix, run.exportType, type, `dt=${dt}`, file.name].filter(Boolean).join('/');
}

/** What the trust policy names as the principal while DDE_AWS_PRINCIPAL_ARN is not set: the operator gives the ARN. */
export const PRINCIPAL_PLACEHOLDER = '<DDE principal ARN: ask your DDE operator>';

/** The role's trust policy: DDE's principal may assume it, only with the connection's external id. */
export function s3TrustPolicy(principalArn: string | null | undefined, externalId: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principalArn || PRINCIPAL_PLACEHOLDER },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  };
}

/**
 * The least the role (or the access key's user) needs on the bucket: write and abort uploads under the
 * prefix for deliveries; read back and delete for the set-up test's probe; listing unfinished uploads
 * to clean up after a killed attempt (optional: without it, deliveries still work); the KMS key's use
 * when the objects are encrypted with it.
 */
export function s3PermissionsPolicy(s: { bucket: string; prefix?: string; sse?: string; kms_key_id?: string | null }) {
  const bucket = s.bucket || '<bucket>';
  const prefix = (s.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const objects = `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}*`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DeliverFiles',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        Resource: objects,
      },
      {
        Sid: 'CleanUpUnfinishedUploads',
        Effect: 'Allow',
        Action: 's3:ListBucketMultipartUploads',
        Resource: `arn:aws:s3:::${bucket}`,
      },
      ...(s.sse === 'aws:kms'
        ? [
            {
              Sid: 'EncryptWithKey',
              Effect: 'Allow',
              Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
              Resource: s.kms_key_id || '<KMS key ARN>',
            },
          ]
        : []),
    ],
  };
}
