// The program switcher's state: a cookie holding the chosen program id, re-validated on every use.
import type { ProgramSummary } from '@/db/queries/auth';

export const PROGRAM_COOKIE = 'dde_program';

/** The chosen program when the actor can see it, else the first program it can see (or null: none). */
export function pickProgram(programs: readonly ProgramSummary[], chosen: string | undefined): ProgramSummary | null {
  const id = chosen && /^\d{1,18}$/.test(chosen) ? Number(chosen) : undefined;
  return programs.find((p) => p.id === id) ?? programs[0] ?? null;
}
