// The one vocabulary of a run's status: the word the badge, the event history's filter, the charts,
// the CSV downloads and the API reference use for each status, and what it means. Client-safe (no
// database, no server modules): the pages import it as the API's schemas do.
import { RUN_STATUSES, type RunStatus } from '@/db/schema/enums';

export const RUN_STATUS_WORDS: Record<RunStatus, { label: string; meaning: string }> = {
  planned: { label: 'Planned', meaning: 'the window has closed; its export has not started yet' },
  generating: { label: 'Exporting', meaning: 'the files are being written' },
  // An SFTP run's files are written and wait for their upload (also after a retry): never "generated",
  // which read as a step back on a retried run on its way to Delivered.
  generated: { label: 'Waiting to deliver', meaning: 'the files are written and wait for their upload (SFTP)' },
  delivering: { label: 'Delivering', meaning: 'the files are being uploaded (SFTP)' },
  delivered: { label: 'Delivered', meaning: 'every file is on the SFTP server' },
  available: { label: 'Available', meaning: 'the files can be downloaded from the export API' },
  empty: { label: 'No new data', meaning: 'the window had no new rows, so there are no files' },
  failed: { label: 'Failed', meaning: 'the export or the delivery failed; a retry may fix it' },
  cancelled: { label: 'Cancelled', meaning: 'a cancelled historical request’s month that was never exported' },
};

/** A run status in admins' words: "No new data", "Waiting to deliver". */
export function runStatusLabel(status: RunStatus): string {
  return RUN_STATUS_WORDS[status].label;
}

/** The statuses in the order the event history's Status filter offers them (outcomes first). */
export const RUN_STATUS_FILTER_ORDER: readonly RunStatus[] = [
  'delivered',
  'available',
  'failed',
  'empty',
  'delivering',
  'generated',
  'generating',
  'planned',
  'cancelled',
];

/** The API reference's description of a run's `status`: each of `statuses` with its word and meaning. */
export function runStatusDoc(statuses: readonly RunStatus[] = RUN_STATUSES): string {
  return `The run's status. ${statuses.map((s) => `\`${s}\` (shown as "${RUN_STATUS_WORDS[s].label}"): ${RUN_STATUS_WORDS[s].meaning}`).join('; ')}.`;
}
