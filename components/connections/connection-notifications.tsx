// The connection page's notifications: why the connection paused itself (with Resume), which runs
// the contacts hear about and when it pauses itself, and its webhooks.
'use client';
import { useQuery } from '@tanstack/react-query';
import { api } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import type { Answer } from '@/lib/http/schemas';
import type { settingsResponse } from '@/lib/webhooks/responses';
import { ConnectionWebhooks } from '@/components/webhooks/connection-webhooks';
import { ErrorNotice, Loading } from '@/components/ui/primitives';
import { AutoPausedNotice } from './auto-paused-notice';
import { ReportSettings } from './report-settings';

/** Hooked into the connection page's Overview. */
export function ConnectionNotifications({ program, connection, canWrite }: { program: number; connection: Connection; canWrite: boolean }) {
  const q = useQuery({
    queryKey: ['notification-settings', program, connection.id, connection.status],
    queryFn: () => api<Answer<typeof settingsResponse>>(`/api/v1/connections/${connection.id}/notification-settings`, program),
  });
  if (q.isPending) return <Loading label="Loading notifications…" />;
  if (q.isError)
    return <ErrorNotice title="The notification settings could not be loaded" error={q.error} onRetry={() => void q.refetch()} />;
  const s = q.data.data;
  return (
    <div className="space-y-6">
      <AutoPausedNotice program={program} connection={connection} settings={s} canWrite={canWrite} />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <ReportSettings
          key={`${s.report_mode}-${s.auto_pause_after}`}
          program={program}
          connection={connection}
          settings={s}
          canWrite={canWrite}
        />
        <ConnectionWebhooks program={program} connection={connection} canWrite={canWrite} />
      </div>
    </div>
  );
}
