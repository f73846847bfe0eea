// Test-only: a process stops itself (SIGSTOP) at a named step of its work, so the fault tests can
// freeze a real worker exactly there — no timing — and resume it later with SIGCONT. The step is
// named by DDE_TEST_FREEZE_AT and honoured only under NODE_ENV=test, at most once per process.
import { env } from '@/lib/env';

export const FREEZE_STEPS = [
  /** An export claimed its run and has not started its work (the advisory lock, the files). */
  'export:claimed',
  /** An export's COPY is streaming rows. */
  'export:copy',
  /** An export's data files are in storage; sidecars, manifest and the publish are still to come. */
  'export:uploaded',
  /** An export's files are all in storage; the publish transition is next. */
  'export:publish',
  /** A delivery's first file is on the SFTP server under its temporary name; its rename is next. */
  'delivery:rename',
] as const;

export type FreezeStep = (typeof FREEZE_STEPS)[number];

const done = new Set<FreezeStep>();

/** Stops this process when DDE_TEST_FREEZE_AT names `step` (tests only; once). */
export function freezePoint(step: FreezeStep): void {
  let at: string | undefined;
  try {
    at = env().testFreezeAt;
  } catch {
    return; // no configuration (a unit test of the engine alone): nothing to honour
  }
  if (at !== step || done.has(step)) return;
  done.add(step);
  process.kill(process.pid, 'SIGSTOP');
}
