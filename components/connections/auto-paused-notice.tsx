// Why a connection paused itself (failed windows in a row, as its settings allow), with Resume.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import type { NotificationSettings } from '@/lib/webhooks/responses';
import { dt } from '@/components/ui/formatters';
import { Button, ErrorNotice, Notice } from '@/components/ui/primitives';

type Settings = NotificationSettings;

export function AutoPausedNotice({
  program,
  connection,
  settings,
  canWrite,
}: {
  program: number;
  connection: Connection;
  settings: Settings;
  canWrite: boolean;
}) {
  const qc = useQueryClient();
  const resume = useMutation({
    mutationFn: () => api(`/api/v1/connections/${connection.id}/resume`, program, { method: 'POST' }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['connection', program, connection.id] });
      void qc.invalidateQueries({ queryKey: ['notification-settings', program, connection.id] });
    },
  });
  if (!settings.auto_paused) return null;
  return (
    <div data-testid="auto-paused">
      <Notice tone="warning" title={`Paused by itself on ${dt(settings.auto_paused.at)}`}>
        <p>{settings.auto_paused.reason}</p>
        <p className="mt-1">Fix the cause, then resume: every window missed while paused is exported after.</p>
        {canWrite ? (
          <Button className="mt-3" variant="primary" size="sm" busy={resume.isPending} onClick={() => resume.mutate()}>
            Resume
          </Button>
        ) : null}
        {resume.isError ? <ErrorNotice title="Not resumed" error={resume.error} /> : null}
      </Notice>
    </div>
  );
}
