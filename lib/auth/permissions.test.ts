import { describe, expect, it } from 'vitest';
import type { Actor, TokenActor, UserActor } from './actor';
import type { Db } from '@/db/client';
import { canSeeProgram, requireProgram, resolveProgram } from './actor';
import { AppError } from '@/lib/http/errors';
import { can, grantableScopes, hasScope, PERMISSIONS, permissionsOf, ROLE_PERMISSIONS } from './permissions';

const user = (role: UserActor['role'], programs: UserActor['programs'] = 'all'): UserActor => ({
  kind: 'user',
  accountId: '00000000-0000-0000-0000-000000000001',
  email: 'a@example.com',
  name: null,
  role,
  mustChangePassword: false,
  programs,
  label: 'a@example.com',
});
const token = (scopes: TokenActor['scopes'], role: TokenActor['role'], programs: TokenActor['programs'] = [1]): TokenActor => ({
  kind: 'token',
  tokenId: 't',
  tokenKind: role ? 'personal' : 'client',
  scopes,
  accountId: role ? 'a' : null,
  role,
  apiClientId: role ? null : 'c',
  programs,
  label: 'token',
});

describe('the permission table', () => {
  it('lets a Firstup Super Admin do everything', () => {
    for (const p of PERMISSIONS) expect(can(user('firstup_super_admin'), p)).toBe(true);
  });

  it('gives a Brand Super Admin read-only access: no write, retry, historical or API-access management permission', () => {
    const brand = user('brand_super_admin', [7]);
    expect(permissionsOf(brand).sort()).toEqual(['activity_log.read', 'api_access.read', 'connections.read', 'exports.download']);
    for (const p of ['connections.write', 'deliveries.retry', 'historical.write', 'api_access.manage'] as const)
      expect(can(brand, p)).toBe(false);
  });

  it('names every permission in exactly the roles that hold it, and nothing unknown', () => {
    for (const perms of Object.values(ROLE_PERMISSIONS)) for (const p of perms) expect(PERMISSIONS).toContain(p);
  });

  it("lets an API client read its feed and nothing else, whatever its scopes: never the connections' settings", () => {
    expect(permissionsOf(token(['data_exports.read'], null))).toEqual(['exports.download']);
    expect(permissionsOf(token(['data_exports.manage'], null))).toEqual(['exports.download']);
    expect(permissionsOf(token(['data_exports.manage', 'data_exports.read'], null))).toEqual(['exports.download']);
  });

  it("lets a personal data_exports.read token read what its owner's role reads, without writing", () => {
    expect(permissionsOf(token(['data_exports.read'], 'brand_super_admin')).sort()).toEqual(['connections.read', 'exports.download']);
    expect(permissionsOf(token(['data_exports.read'], 'firstup_super_admin', 'all')).sort()).toEqual([
      'connections.read',
      'exports.download',
    ]);
  });

  it('lets a data_exports.manage token use the management API, but never manage API access', () => {
    const t = token(['data_exports.manage'], 'firstup_super_admin', 'all');
    expect(can(t, 'connections.write')).toBe(true);
    expect(can(t, 'deliveries.retry')).toBe(true);
    expect(can(t, 'api_access.manage')).toBe(false);
    expect(can(t, 'api_access.read')).toBe(false);
  });

  it("caps a personal token at its owner's role: a Brand Super Admin's manage token still cannot write", () => {
    const t = token(['data_exports.manage'], 'brand_super_admin', [1]);
    expect(can(t, 'connections.read')).toBe(true);
    expect(can(t, 'connections.write')).toBe(false);
  });

  it('lets each role give its own personal tokens only the scopes within it', () => {
    expect(grantableScopes('firstup_super_admin')).toEqual(['data_exports.read', 'data_exports.manage']);
    expect(grantableScopes('brand_super_admin')).toEqual(['data_exports.read']);
  });

  it('treats data_exports.manage as including data_exports.read, not the reverse', () => {
    expect(hasScope(['data_exports.manage'], 'data_exports.read')).toBe(true);
    expect(hasScope(['data_exports.read'], 'data_exports.manage')).toBe(false);
    expect(hasScope([], 'data_exports.read')).toBe(false);
  });
});

describe('program scope', () => {
  it('answers 404, not 403, for a program the actor cannot see', () => {
    const brand: Actor = user('brand_super_admin', [7]);
    expect(canSeeProgram(brand, 7)).toBe(true);
    expect(() => requireProgram(brand, 8)).toThrowError(AppError);
    try {
      requireProgram(brand, 8);
    } catch (err) {
      expect((err as AppError).status).toBe(404);
    }
  });

  it('lets a Firstup Super Admin see every program', () => {
    expect(() => requireProgram(user('firstup_super_admin'), 123)).not.toThrow();
  });

  it("defaults to the actor's only program, and asks which when there are several", async () => {
    // None of these needs the database: only callers that see every program look a requested one up.
    const noDb = new Proxy(
      {},
      {
        get: () => {
          throw new Error('the database is not needed here');
        },
      },
    ) as Db;
    await expect(resolveProgram(noDb, token(['data_exports.read'], null, [42]), undefined)).resolves.toBe(42);
    await expect(resolveProgram(noDb, user('brand_super_admin', [1, 2]), undefined)).rejects.toThrowError(/reaches more than one program/);
    await expect(resolveProgram(noDb, token(['data_exports.read'], null, [42]), 43)).rejects.toThrowError(/not found/);
  });
});
