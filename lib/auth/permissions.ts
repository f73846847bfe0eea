// The permission table: which role may do what, and what an API token's scopes add or take away.
// Code asks can(actor, permission); no code outside this file compares role names.
import { SCOPES, type Role, type Scope } from '@/db/schema/auth';
import type { Actor } from './actor';

export const PERMISSIONS = [
  'connections.read',
  'connections.write',
  'deliveries.retry',
  'exports.download',
  'historical.write',
  'activity_log.read',
  'api_access.read',
  'api_access.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What each role may do. Firstup Super Admins: everything, every program. Brand Super Admins: read
 * only, their programs — the API access page included (its lists, never its create or revoke).
 */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  firstup_super_admin: PERMISSIONS,
  brand_super_admin: ['connections.read', 'exports.download', 'activity_log.read', 'api_access.read'],
};

/** Roles as admins see them on the screens. */
export const ROLE_LABELS: Record<Role, string> = {
  firstup_super_admin: 'Firstup Super Admin',
  brand_super_admin: 'Brand Super Admin',
};

/**
 * What a token scope can grant. A token never gets more than its owner (personal tokens are capped
 * by the account's role) and never manages API access itself, so a leaked token cannot mint others.
 */
export const SCOPE_PERMISSIONS: Record<Scope, readonly Permission[]> = {
  'data_exports.read': ['connections.read', 'exports.download'],
  'data_exports.manage': [
    'connections.read',
    'connections.write',
    'deliveries.retry',
    'exports.download',
    'historical.write',
    'activity_log.read',
  ],
};

/**
 * What an API client (client-credentials token) may do, whatever its scopes: read its own feed. It
 * never reaches the management API (lib/auth/with-auth.ts answers it 404 there); personal tokens
 * act with their owner's role, capped by their scopes.
 */
export const CLIENT_PERMISSIONS: readonly Permission[] = ['exports.download'];

/**
 * The scopes an account of `role` may give its own personal tokens: those whose every permission the
 * role has. A Brand Super Admin's tokens read exports (data_exports.read); a Firstup Super Admin's may
 * also manage (data_exports.manage). Asking for more is refused, not silently capped.
 */
export function grantableScopes(role: Role): Scope[] {
  return SCOPES.filter((scope) => SCOPE_PERMISSIONS[scope].every((p) => roleCan(role, p)));
}

/** Scopes that include another: a management token may also read exports. */
const SCOPE_IMPLIES: Record<Scope, readonly Scope[]> = {
  'data_exports.read': ['data_exports.read'],
  'data_exports.manage': ['data_exports.manage', 'data_exports.read'],
};

export function roleCan(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** True when the token scopes include `scope` (directly or through a broader scope). */
export function hasScope(scopes: readonly Scope[], scope: Scope): boolean {
  return scopes.some((s) => SCOPE_IMPLIES[s]?.includes(scope));
}

/** The one permission check. Users: their role. Personal tokens: their scopes, capped by the owner's role. API clients: their feed. */
export function can(actor: Actor, permission: Permission): boolean {
  if (actor.kind === 'user') return roleCan(actor.role, permission);
  const scoped = actor.scopes.some((s) => SCOPE_PERMISSIONS[s]?.includes(permission));
  if (!scoped) return false;
  // Client tokens belong to one program and have no role: they read their feed, nothing more.
  if (actor.tokenKind === 'client') return CLIENT_PERMISSIONS.includes(permission);
  return actor.role ? roleCan(actor.role, permission) : false;
}

/** Every permission an actor holds (for the UI, which hides what the server would refuse). */
export function permissionsOf(actor: Actor): Permission[] {
  return PERMISSIONS.filter((p) => can(actor, p));
}
