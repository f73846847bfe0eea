// Which runs a connection's contacts hear about (every run, failures only, a daily digest), after
// how many failed windows in a row it pauses itself, and how its daily check went.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import type { NotificationSettings } from '@/lib/webhooks/responses';
import { dt } from '@/components/ui/formatters';
import { Button, Card, ErrorNotice, Field, inputClass } from '@/components/ui/primitives';

const MODES = [
  { id: 'every_run', label: 'Every run' },
  { id: 'failures_only', label: 'Failures only' },
  { id: 'daily_digest', label: 'A daily digest' },
] as const;

type Settings = NotificationSettings;

export function ReportSettings({
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
  const [mode, setMode] = useState(settings.report_mode);
  const [threshold, setThreshold] = useState(String(settings.auto_pause_after));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      api(`/api/v1/connections/${connection.id}/notification-settings`, program, {
        method: 'PATCH',
        body: { report_mode: mode, auto_pause_after: Number(threshold) },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['notification-settings', program, connection.id] }),
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (!/^\d+$/.test(threshold.trim())) return setErrors({ auto_pause_after: 'Enter a whole number of windows (0 = never).' });
    setErrors({});
    save.mutate();
  };
  return (
    <Card title="Reports and auto-pause">
      <form onSubmit={submit} noValidate className="space-y-4" aria-label="Reports and auto-pause">
        <Field label="Contacts receive" hint={settings.report_mode_is_default ? 'The default for this kind of connection.' : undefined}>
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={mode}
              disabled={!canWrite}
              onChange={(e) => setMode(e.target.value as Settings['report_mode'])}
            >
              {MODES.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Pause by itself after this many failed windows in a row"
          error={errors.auto_pause_after}
          hint={`0 = never. Failed in a row now: ${settings.consecutive_failed_windows}.`}
        >
          {(p) => (
            <input
              {...p}
              inputMode="numeric"
              className={inputClass}
              value={threshold}
              disabled={!canWrite}
              onChange={(e) => setThreshold(e.target.value)}
            />
          )}
        </Field>
        {settings.health ? (
          <p className="text-xs text-slate-600" data-testid="daily-check">
            {/* The check's status is the daily check's own; the time is the connection's last test (the daily check, or a test at set-up or after a credential change). */}
            {settings.health.status === null
              ? `Daily check: not run yet (it runs once a day).${settings.health.last_checked_at ? ` Connection last tested ${dt(settings.health.last_checked_at)}.` : ''}`
              : `Daily check: ${settings.health.status === 'ok' ? 'passing' : `failing (${settings.health.status})`}${settings.health.last_checked_at ? `, connection last tested ${dt(settings.health.last_checked_at)}` : ''}.`}
          </p>
        ) : null}
        {save.isError ? <ErrorNotice title="Not saved" error={save.error} /> : null}
        {canWrite ? (
          <div className="flex justify-end">
            <Button type="submit" variant="primary" busy={save.isPending}>
              Save
            </Button>
          </div>
        ) : null}
      </form>
    </Card>
  );
}
