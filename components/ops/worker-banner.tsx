// The warning above the connections list when no jobs worker has been seen for 2 minutes: the
// schedules are set, but nothing is exported or delivered until a worker runs again.
import type { UserActor } from '@/lib/auth/actor';
import type { WorkerStatus } from '@/lib/health';

/** A worker unseen for this long counts as not running (lib/health's WORKER_SILENT_SECONDS). */
const SILENT_MINUTES = 2;

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} seconds`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} minutes`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} hours`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** `status` is null when the database did not answer (the page itself reports that). */
export function WorkerBanner({ actor, status }: { actor: UserActor; status: WorkerStatus | null }) {
  if (!status || status.running) return null;
  const newest = status.newest;
  const seen = newest
    ? newest.stopped_at
      ? `The last jobs worker (${newest.hostname}) stopped ${ago(newest.seconds_ago)} ago.`
      : `The last jobs worker (${newest.hostname}) was seen ${ago(newest.seconds_ago)} ago.`
    : 'No jobs worker has ever been seen.';
  return (
    <div
      role="alert"
      data-testid="worker-banner"
      className="mt-6 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900"
    >
      <p className="font-semibold">Exports are not running</p>
      <p className="mt-1">
        No jobs worker has been seen for {SILENT_MINUTES} minutes, so no window is exported or delivered. {seen}{' '}
        {actor.role === 'firstup_super_admin'
          ? 'Start one with `npm run jobs` (or `npm start`); windows missed meanwhile are exported when it runs again.'
          : 'Windows missed meanwhile are exported when it runs again; tell your Firstup contact if this lasts.'}
      </p>
    </div>
  );
}
