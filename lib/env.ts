// Typed configuration. The only module that reads process.env: everything else asks env().
// On the embedded default (no DATABASE_URL) absent secrets are generated once and kept in
// <DDE_DATA_DIR>/secrets.json (mode 600); with an external database they must be configured.
// Every entry point (npm start, the jobs worker, the CLI, tests, next) reads `.env` files the way
// `next start` does (@next/env: .env.$mode.local, .env.local except in tests, .env.$mode, .env);
// variables already in the environment win.
import nextEnv from '@next/env';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseAllowList } from './cidr';

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const intWithDefault = (def: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
  .refine((v) => {
    try {
      new URL(v);
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid URL');

const encryptionKey = z.string().refine((v) => decodeKey(v) !== null, 'must be 32 bytes, as 64 hex characters or base64');

const booleanFlag = z.preprocess(emptyToUndefined, z.enum(['true', 'false']).optional());

const storageUrl = z
  .string()
  .refine((v) => /^(file|s3):\/\//.test(v), 'must be file://<folder> or s3://<bucket>/<prefix>')
  .refine(
    (v) => !v.startsWith('s3://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v),
    'has no valid bucket name after s3://',
  );

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z.preprocess(emptyToUndefined, postgresUrl.optional()),
    PORT: intWithDefault(3000, 1, 65535),
    DDE_DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./.data')),
    NEXTAUTH_URL: z.preprocess(emptyToUndefined, z.url().optional()),
    NEXTAUTH_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    DDE_ENCRYPTION_KEY: z.preprocess(emptyToUndefined, encryptionKey.optional()),
    SMTP_URL: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .refine((v) => /^smtps?:\/\//.test(v), 'must be an smtp:// or smtps:// URL')
        .optional(),
    ),
    SMTP_FROM: z.preprocess(emptyToUndefined, z.string().default('DDE <dde@localhost>')),
    OIDC_ISSUER: z.preprocess(emptyToUndefined, z.url().optional()),
    OIDC_CLIENT_ID: optionalString,
    OIDC_CLIENT_SECRET: optionalString,
    OIDC_NAME: z.preprocess(emptyToUndefined, z.string().default('Single sign-on')),
    DDE_EGRESS_INFO: optionalString,
    LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
    DDE_RETENTION_DAYS: intWithDefault(7, 1, 365),
    DDE_SETTLE_MINUTES: intWithDefault(5, 0, 1440),
    DDE_DELIVERY_MAX_ATTEMPTS: intWithDefault(5, 1, 50),
    DDE_STS_ENDPOINT: z.preprocess(emptyToUndefined, z.url().optional()),
    DDE_AWS_PRINCIPAL_ARN: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:(?:root|user\/\S+|role\/\S+)$/, 'must be an IAM ARN such as arn:aws:iam::123456789012:role/dde')
        .optional(),
    ),
    DDE_EXPORT_MAX_ATTEMPTS: intWithDefault(3, 1, 20),
    DDE_SIGNED_URL_TTL_SECONDS: intWithDefault(900, 10, 86400),
    DDE_API_RATE_LIMIT_PER_MINUTE: intWithDefault(600, 0, 10_000_000),
    DDE_CONNECTION_TESTS_PER_MINUTE: intWithDefault(10, 1, 10_000),
    DDE_DEMO: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).optional()),
    DDE_RUN_STALE_SECONDS: intWithDefault(120, 5, 3600),
    /** Tests only (NODE_ENV=test): the step at which the process stops itself (lib/freeze-point.ts). */
    DDE_TEST_FREEZE_AT: z.preprocess(emptyToUndefined, z.string().optional()),
    DDE_OPEN_TRANSACTION_WAIT_SECONDS: intWithDefault(900, 0, 86400),
    DDE_EXPORT_WORKERS: intWithDefault(4, 1, 64),
    DDE_DELIVERY_WORKERS: intWithDefault(8, 1, 64),
    DDE_INITIAL_ADMIN_EMAIL: z.preprocess(emptyToUndefined, z.email().default('admin@dde.local')),
    DDE_INITIAL_ADMIN_PASSWORD: z.preprocess(emptyToUndefined, z.string().min(12, 'must be at least 12 characters').optional()),
    DDE_METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
    DDE_JOBS_METRICS_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(65535).optional()),
    DDE_JOBS_METRICS_HOST: z.preprocess(emptyToUndefined, z.string().default('127.0.0.1')),
    DDE_ONE_TIME_PASSWORD_TTL_HOURS: intWithDefault(24, 1, 24 * 90),
    DDE_OUTBOUND_ALLOWED_NETWORKS: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .superRefine((v, ctx) => {
          for (const message of parseAllowList(v).errors) ctx.addIssue({ code: 'custom', message });
        })
        .optional(),
    ),
    DDE_STORAGE_URL: z.preprocess(emptyToUndefined, storageUrl.optional()),
    AWS_ACCESS_KEY_ID: optionalString,
    AWS_SECRET_ACCESS_KEY: optionalString,
    AWS_SESSION_TOKEN: optionalString,
    AWS_REGION: z.preprocess(emptyToUndefined, z.string().default('us-east-1')),
    DDE_S3_ENDPOINT: z.preprocess(emptyToUndefined, z.url().optional()),
    DDE_S3_FORCE_PATH_STYLE: booleanFlag,
    DDE_S3_PRESIGN: booleanFlag,
    DDE_S3_CHECKSUMS: z.preprocess(emptyToUndefined, z.enum(['when_supported', 'when_required']).default('when_supported')),
  })
  .superRefine((v, ctx) => {
    const oidc = [v.OIDC_ISSUER, v.OIDC_CLIENT_ID, v.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_ISSUER'],
        message: 'OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together',
      });
    }
    if (Boolean(v.AWS_ACCESS_KEY_ID) !== Boolean(v.AWS_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_ACCESS_KEY_ID'],
        message: 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together',
      });
    }
  });

/** Where export files live: a local folder (the default, <DDE_DATA_DIR>/exports) or an S3-compatible bucket. */
export type StorageConfig =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** '' or a folder ending with '/'. */
      prefix: string;
      region: string;
      endpoint: string | undefined;
      forcePathStyle: boolean;
      /** Undefined: the SDK's default credential chain (instance role, profile…). */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
      /** Signed download links redirect to a presigned S3 URL. */
      presign: boolean;
      checksums: 'when_supported' | 'when_required';
    };

function storageConfig(v: z.infer<typeof schema>, dataDir: string): StorageConfig {
  const url = v.DDE_STORAGE_URL;
  if (!url || url.startsWith('file://')) {
    const folder = url ? decodeURIComponent(url.slice('file://'.length)) : '';
    return { kind: 'local', root: folder ? path.resolve(folder) : path.join(dataDir, 'exports') };
  }
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  return {
    kind: 's3',
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    region: v.AWS_REGION,
    endpoint: v.DDE_S3_ENDPOINT,
    forcePathStyle: v.DDE_S3_FORCE_PATH_STYLE === 'true',
    credentials:
      v.AWS_ACCESS_KEY_ID && v.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: v.AWS_ACCESS_KEY_ID, secretAccessKey: v.AWS_SECRET_ACCESS_KEY, sessionToken: v.AWS_SESSION_TOKEN }
        : undefined,
    presign: v.DDE_S3_PRESIGN === 'true',
    checksums: v.DDE_S3_CHECKSUMS,
  };
}

export type Env = {
  nodeEnv: 'development' | 'production' | 'test';
  /** Tests only: the named step at which the process stops itself with SIGSTOP (never outside NODE_ENV=test). */
  testFreezeAt: string | undefined;
  databaseUrl: string | undefined;
  embedded: boolean;
  port: number;
  dataDir: string;
  nextAuthUrl: string;
  nextAuthSecret: string;
  encryptionKey: Buffer;
  smtpUrl: string | undefined;
  smtpFrom: string;
  oidc: { issuer: string; clientId: string; clientSecret: string; name: string } | undefined;
  egressInfo: string | undefined;
  logLevel: string;
  retentionDays: number;
  settleMinutes: number;
  deliveryMaxAttempts: number;
  /** STS endpoint for S3 role assumption (an S3-compatible server's own STS); AWS's regional STS when unset. */
  stsEndpoint: string | undefined;
  /** The IAM user or role whose credentials DDE assumes customers' roles with: the Principal of the trust policy DDE shows. */
  awsPrincipalArn: string | undefined;
  /** Attempts of a run's export step before the run fails (the ledger counts them; the queue only carries the retry). */
  exportMaxAttempts: number;
  /** A run without a heartbeat for this long belongs to a dead worker and is handed back. */
  runStaleSeconds: number;
  /** How long an export waits for transactions that may still commit rows into its window. */
  openTransactionWaitSeconds: number;
  /** Export and delivery jobs one jobs process works on at once. */
  exportWorkers: number;
  deliveryWorkers: number;
  signedUrlTtlSeconds: number;
  /** Export API requests per minute per API client or account, per web process; 0 turns the limit off. */
  apiRateLimitPerMinute: number;
  /** "Test connection" runs (outbound SSH) per account per minute. */
  connectionTestsPerMinute: number;
  demo: boolean;
  /** The first Firstup Super Admin, created on the first start. Its password is generated unless set. */
  initialAdmin: { email: string; password: string | undefined };
  /** Password of the embedded PostgreSQL superuser (embedded default only). */
  embeddedPgPassword: string;
  /** Bearer token /metrics requires when set; without it /metrics answers loopback callers only. */
  metricsToken: string | undefined;
  /** The jobs worker's own /metrics listener (off when unset). */
  jobsMetrics: { port: number; host: string } | undefined;
  /** Hours a one-time password (new account, reset) stays usable. */
  oneTimePasswordTtlHours: number;
  /** CIDR networks (optionally `:port`) outbound connections may reach despite the outbound policy (lib/net). */
  outboundAllowedNetworks: string | undefined;
  storage: StorageConfig;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function decodeKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b = Buffer.from(value, 'base64');
  return b.length === 32 ? b : null;
}

type StoredSecrets = { NEXTAUTH_SECRET: string; DDE_ENCRYPTION_KEY: string; PG_PASSWORD: string };

/** Reads the generated secrets of a data dir, creating them (mode 600) on first use. */
export function loadOrCreateSecrets(dataDir: string): StoredSecrets {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredSecrets>;
    if (parsed.NEXTAUTH_SECRET && parsed.DDE_ENCRYPTION_KEY && parsed.PG_PASSWORD) return parsed as StoredSecrets;
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets: StoredSecrets = {
    NEXTAUTH_SECRET: randomBytes(32).toString('base64url'),
    DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PG_PASSWORD: randomBytes(18).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/** Parses a set of variables; throws ConfigError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${String(i.path[0] ?? 'configuration')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const v = result.data;
  const dataDir = path.resolve(v.DDE_DATA_DIR);
  const embedded = !v.DATABASE_URL;
  let nextAuthSecret = v.NEXTAUTH_SECRET;
  let keyText = v.DDE_ENCRYPTION_KEY;
  let pgPassword = source.DDE_EMBEDDED_PG_PASSWORD ?? '';
  const needStored = embedded || source.DDE_SECRETS_FROM_DATA_DIR === 'true';
  if (needStored && (!nextAuthSecret || !keyText || !pgPassword)) {
    const stored = loadOrCreateSecrets(dataDir);
    nextAuthSecret ??= stored.NEXTAUTH_SECRET;
    keyText ??= stored.DDE_ENCRYPTION_KEY;
    pgPassword ||= stored.PG_PASSWORD;
  }
  const missing = [!nextAuthSecret && 'NEXTAUTH_SECRET', !keyText && 'DDE_ENCRYPTION_KEY'].filter(Boolean);
  if (missing.length) {
    throw new ConfigError(`Invalid configuration:\n  ${missing.map((m) => `${m}: is required when DATABASE_URL is set`).join('\n  ')}`);
  }
  return {
    nodeEnv: v.NODE_ENV,
    testFreezeAt: v.NODE_ENV === 'test' ? v.DDE_TEST_FREEZE_AT : undefined,
    databaseUrl: v.DATABASE_URL,
    embedded,
    port: v.PORT,
    dataDir,
    nextAuthUrl: v.NEXTAUTH_URL ?? `http://localhost:${v.PORT}`,
    nextAuthSecret: nextAuthSecret!,
    encryptionKey: decodeKey(keyText!)!,
    smtpUrl: v.SMTP_URL,
    smtpFrom: v.SMTP_FROM,
    oidc:
      v.OIDC_ISSUER && v.OIDC_CLIENT_ID && v.OIDC_CLIENT_SECRET
        ? { issuer: v.OIDC_ISSUER, clientId: v.OIDC_CLIENT_ID, clientSecret: v.OIDC_CLIENT_SECRET, name: v.OIDC_NAME }
        : undefined,
    egressInfo: v.DDE_EGRESS_INFO,
    logLevel: v.LOG_LEVEL,
    retentionDays: v.DDE_RETENTION_DAYS,
    settleMinutes: v.DDE_SETTLE_MINUTES,
    deliveryMaxAttempts: v.DDE_DELIVERY_MAX_ATTEMPTS,
    stsEndpoint: v.DDE_STS_ENDPOINT,
    awsPrincipalArn: v.DDE_AWS_PRINCIPAL_ARN,
    exportMaxAttempts: v.DDE_EXPORT_MAX_ATTEMPTS,
    runStaleSeconds: v.DDE_RUN_STALE_SECONDS,
    openTransactionWaitSeconds: v.DDE_OPEN_TRANSACTION_WAIT_SECONDS,
    exportWorkers: v.DDE_EXPORT_WORKERS,
    deliveryWorkers: v.DDE_DELIVERY_WORKERS,
    signedUrlTtlSeconds: v.DDE_SIGNED_URL_TTL_SECONDS,
    apiRateLimitPerMinute: v.DDE_API_RATE_LIMIT_PER_MINUTE,
    connectionTestsPerMinute: v.DDE_CONNECTION_TESTS_PER_MINUTE,
    demo: v.DDE_DEMO ? v.DDE_DEMO === 'true' : embedded,
    initialAdmin: { email: v.DDE_INITIAL_ADMIN_EMAIL, password: v.DDE_INITIAL_ADMIN_PASSWORD },
    embeddedPgPassword: pgPassword,
    metricsToken: v.DDE_METRICS_TOKEN,
    jobsMetrics: v.DDE_JOBS_METRICS_PORT ? { port: v.DDE_JOBS_METRICS_PORT, host: v.DDE_JOBS_METRICS_HOST } : undefined,
    oneTimePasswordTtlHours: v.DDE_ONE_TIME_PASSWORD_TTL_HOURS,
    outboundAllowedNetworks: v.DDE_OUTBOUND_ALLOWED_NETWORKS,
    storage: storageConfig(v, dataDir),
  };
}

let cached: Env | undefined;
let envFiles: string[] | undefined;

/**
 * Reads the `.env` files of `dir` (default: the working directory, like `next start`) into the
 * environment, once per process; returns the files read (names relative to `dir`).
 */
export function loadEnvFiles(dir = process.cwd()): string[] {
  if (envFiles) return envFiles;
  const before = new Set(Object.keys(process.env));
  const dev = process.env.NODE_ENV === 'development';
  // @next/env is CommonJS without detectable named exports: take the function off the module.
  const { loadedEnvFiles } = nextEnv.loadEnvConfig(dir, dev, { info: () => undefined, error: (...a: unknown[]) => console.error(...a) });
  envFiles = loadedEnvFiles.map((f) => f.path);
  // The files come in priority order: the first that sets a variable is where its value came from.
  for (const f of loadedEnvFiles) for (const k of Object.keys(f.env)) if (!before.has(k) && !fromFile.has(k)) fromFile.set(k, f.path);
  return envFiles;
}

const fromFile = new Map<string, string>();

/** Where a variable's value came from: a `.env` file's name, 'the environment', or undefined when unset. */
export function sourceOf(name: string): string | undefined {
  loadEnvFiles();
  return fromFile.get(name) ?? (process.env[name] !== undefined && process.env[name] !== '' ? 'the environment' : undefined);
}

/** The process configuration, parsed once (after the `.env` files are read). */
export function env(): Env {
  if (!cached) loadEnvFiles();
  cached ??= parseEnv(process.env);
  return cached;
}

/** Tests and the supervisor change variables and re-read them. */
export function resetEnv(overrides?: Record<string, string | undefined>): void {
  if (overrides)
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  cached = undefined;
}

/** Passes the resolved configuration on to a child process (web, jobs). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
