// Guards for pages (server components): who is signed in, and which program the switcher has chosen.
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { getDb } from '@/db/client';
import type { ProgramSummary } from '@/db/queries/auth';
import { listActorPrograms, type Actor, type UserActor } from './actor';
import { pickProgram, PROGRAM_COOKIE } from './program-selection';
import { getSessionActor } from './session';

/** The signed-in account, or null. Read once per request, however many layouts and pages ask. */
export const getPageActor = cache(async (): Promise<UserActor | null> => getSessionActor(getDb));

/** The signed-in account; anyone else is sent to the sign-in page. */
export async function requirePageActor(): Promise<UserActor> {
  const actor = await getPageActor();
  if (!actor) redirect('/sign-in');
  return actor;
}

export type ProgramSelection = { programs: ProgramSummary[]; current: ProgramSummary | null };

/** The actor's programs and the one the switcher points at (once per request). */
export const currentProgram = cache(async (actor: Actor): Promise<ProgramSelection> => {
  const programs = await listActorPrograms(getDb(), actor);
  const chosen = (await cookies()).get(PROGRAM_COOKIE)?.value;
  return { programs, current: pickProgram(programs, chosen) };
});
