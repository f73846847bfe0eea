import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from './env';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'dde-env-'));

describe('configuration', () => {
  it('uses the documented defaults on the embedded default', () => {
    const e = parseEnv({ DDE_DATA_DIR: tmp() });
    expect(e.port).toBe(3000);
    expect(e.embedded).toBe(true);
    expect(e.demo).toBe(true);
    expect(e.retentionDays).toBe(7);
    expect(e.nextAuthUrl).toBe('http://localhost:3000');
    expect(e.encryptionKey).toHaveLength(32);
  });

  it('generates absent secrets once, keeps them in the data dir with mode 600, and reuses them', () => {
    const dir = tmp();
    const a = parseEnv({ DDE_DATA_DIR: dir });
    const b = parseEnv({ DDE_DATA_DIR: dir });
    expect(a.nextAuthSecret).toBe(b.nextAuthSecret);
    expect(a.encryptionKey.equals(b.encryptionKey)).toBe(true);
    const file = path.join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).NEXTAUTH_SECRET).toBe(a.nextAuthSecret);
  });

  it('names the variable when a value is bad', () => {
    expect(() => parseEnv({ DDE_DATA_DIR: tmp(), PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseEnv({ DDE_DATA_DIR: tmp(), DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres/);
    expect(() => parseEnv({ DDE_DATA_DIR: tmp(), DDE_ENCRYPTION_KEY: 'short' })).toThrow(/DDE_ENCRYPTION_KEY: must be 32 bytes/);
    expect(() => parseEnv({ DDE_DATA_DIR: tmp(), SMTP_URL: 'http://mail' })).toThrow(/SMTP_URL/);
    expect(() => parseEnv({ DDE_DATA_DIR: tmp(), OIDC_ISSUER: 'https://id.example.com' })).toThrow(/OIDC_ISSUER.*set together/);
  });

  it('requires the secrets to be configured when an external database is used', () => {
    const run = () => parseEnv({ DDE_DATA_DIR: tmp(), DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/NEXTAUTH_SECRET: is required/);
    const ok = parseEnv({
      DDE_DATA_DIR: tmp(),
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
      NEXTAUTH_SECRET: 'x'.repeat(32),
      DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
    });
    expect(ok.embedded).toBe(false);
    expect(ok.demo).toBe(false);
  });
});
