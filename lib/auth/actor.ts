// Who is making a request: a signed-in account (session) or an API token, with the programs it can
// see. Programs an actor cannot see do not exist for it: requireProgram answers 404, never 403.
import type { Db } from '@/db/client';
import { findAccountById, findExistingProgramIds, listMembershipProgramIds, listPrograms, type ProgramSummary } from '@/db/queries/auth';
import type { Account, Role, Scope } from '@/db/schema/auth';
import { AppError } from '@/lib/http/errors';

/** `'all'` for Firstup Super Admins; otherwise the program ids the actor belongs to. */
export type ProgramAccess = 'all' | readonly number[];

export type UserActor = {
  kind: 'user';
  accountId: string;
  email: string;
  name: string | null;
  role: Role;
  mustChangePassword: boolean;
  programs: ProgramAccess;
  /** Who, as the Activity Log shows it. */
  label: string;
};

export type TokenActor = {
  kind: 'token';
  tokenId: string;
  tokenKind: 'client' | 'personal';
  scopes: Scope[];
  /** The owning account of a personal token (null for client tokens). */
  accountId: string | null;
  /** The owner's role caps a personal token; client tokens have none (their scopes decide). */
  role: Role | null;
  apiClientId: string | null;
  programs: ProgramAccess;
  label: string;
};

export type Actor = UserActor | TokenActor;

export function programAccessFor(account: Pick<Account, 'role'>, membershipIds: readonly number[]): ProgramAccess {
  return account.role === 'firstup_super_admin' ? 'all' : membershipIds;
}

/**
 * The actor for a signed-in account, or null when the account is gone or disabled, or — given the
 * session's version — when a password change or reset has ended that session since.
 */
export async function loadUserActor(db: Db, accountId: string, session?: { sessionVersion: number }): Promise<UserActor | null> {
  const account = await findAccountById(db, accountId);
  if (!account || account.disabledAt) return null;
  if (session && account.sessionVersion !== session.sessionVersion) return null;
  const ids = account.role === 'firstup_super_admin' ? [] : await listMembershipProgramIds(db, account.id);
  return {
    kind: 'user',
    accountId: account.id,
    email: account.email,
    name: account.name,
    role: account.role,
    mustChangePassword: account.mustChangePassword,
    programs: programAccessFor(account, ids),
    label: account.email,
  };
}

export function canSeeProgram(actor: Actor, programId: number): boolean {
  return actor.programs === 'all' || actor.programs.includes(programId);
}

/** Refuses programs the actor cannot see with 404, so nobody learns that another program exists. */
export function requireProgram(actor: Actor, programId: number): void {
  if (!canSeeProgram(actor, programId)) throw new AppError('not_found', `Program ${programId} was not found.`);
}

/**
 * The one program a request is about: the one asked for (404 for a program the caller cannot see,
 * or that does not exist), else the caller's only program. Callers that reach several programs
 * must say which (422, on the `program` field).
 */
export async function resolveProgram(db: Db, actor: Actor, requested: number | undefined): Promise<number> {
  if (requested === undefined) {
    if (actor.programs !== 'all' && actor.programs.length === 1) return actor.programs[0];
    const message =
      actor.programs !== 'all' && actor.programs.length === 0
        ? 'this caller has no programs'
        : 'this caller reaches more than one program; say which with ?program=<id>';
    throw new AppError('validation_failed', `Invalid query: program: ${message}`, { fields: [{ path: 'program', message }] });
  }
  requireProgram(actor, requested);
  // Callers that see every program learn about a missing one the same way (404).
  if (actor.programs === 'all' && (await findExistingProgramIds(db, [requested])).length === 0) {
    throw new AppError('not_found', `Program ${requested} was not found.`);
  }
  return requested;
}

/** The programs an actor can see, by name (the program switcher lists these). */
export async function listActorPrograms(db: Db, actor: Actor): Promise<ProgramSummary[]> {
  return listPrograms(db, { ids: actor.programs });
}
