// Connection detail (under the page's title, the connection's name): its health strip, actions, and
// the tabs Overview (schedule first, then destination, reports and webhooks), Event History, Folders
// and Historical Data (the open tab is in the URL: ?tab=history).
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import { ConnectionActions } from './connection-actions';
import { Completeness } from './completeness';
import { EventHistory } from './event-history';
import { Folders } from './folders';
import { CONNECTIONS_PATH } from './paths';
import { destination, frequencyLabel, kindLabel, replaceableSecret } from './describe';
import { dateStr, dt, windowLabel } from '@/components/ui/formatters';
import { nextWindowOf } from '@/lib/scheduling/next-delivery';
import { HealthStrip } from './health-strip';
import { HistoricalRequests } from './historical-requests';
import { ConnectionNotifications } from './connection-notifications';
import { LoadedTables } from './loaded-tables';
import {
  fieldError,
  Button,
  Card,
  DefinitionList,
  ErrorNotice,
  Field,
  inputClass,
  Loading,
  Notice,
  StatusBadge,
} from '@/components/ui/primitives';
import { FrequencyField, parseEmails, toInstant } from './setup-fields';
import { oneOf, useUrlFilters } from '@/components/ui/url-filters';
import { refreshConnection } from './queries';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse } from '@/lib/management/responses';

export type Perms = { canWrite: boolean; canRetry: boolean; canHistorical: boolean; canDownload: boolean };

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'history', label: 'Event History' },
  { id: 'folders', label: 'Folders' },
  { id: 'completeness', label: 'Completeness' },
  { id: 'historical', label: 'Historical Data' },
] as const;
type Tab = (typeof TABS)[number]['id'];
/** ?tab=: the tab open (Overview when absent or not a tab). */
const TAB_FILTER = { tab: oneOf(TABS.map((t) => t.id).filter((id) => id !== 'overview')) };

/**
 * The window a schedule starts with when the connection is (started again and) planned next: planning
 * goes on from where it stopped with the schedule as it is now (lib/scheduling/next-delivery.ts).
 */
function firstWindowOf(c: Pick<Connection, 'planned_through' | 'end_date'>, frequency: Connection['frequency'], startDate: string) {
  const start = new Date(startDate);
  if (Number.isNaN(start.getTime())) return undefined;
  return nextWindowOf({
    frequency,
    startDate: start,
    endDate: c.end_date ? new Date(c.end_date) : null,
    plannedThrough: c.planned_through ? new Date(c.planned_through) : null,
  });
}

/** Where the new schedule starts, in words: "Daily from the window Dec 7, 2026, 12:00 UTC → Dec 8, 2026, 00:00 UTC". */
function scheduleStart(c: Pick<Connection, 'planned_through' | 'end_date'>, frequency: Connection['frequency'], startDate: string) {
  const w = firstWindowOf(c, frequency, startDate);
  if (!w) return 'No window is left before the end date.';
  return `${frequencyLabel(frequency)} from the window ${windowLabel(w.start.toISOString(), w.end.toISOString())}${
    c.planned_through && new Date(c.planned_through) >= w.start ? ': every window before it was already exported' : ''
  }.`;
}

function EditForm({
  program,
  connection,
  onDone,
}: {
  program: number;
  connection: Connection;
  onDone: (saved?: Connection, changedSchedule?: boolean) => void;
}) {
  const qc = useQueryClient();
  const router = useRouter();
  const [v, setV] = useState({
    name: connection.name ?? '',
    frequency: connection.frequency as string,
    start: connection.start_date.slice(0, 10),
    emails: connection.contact_emails.join(', '),
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      api<Answer<typeof connectionResponse>>(`/api/v1/connections/${connection.id}`, program, {
        method: 'PATCH',
        body: {
          name: v.name.trim() || undefined,
          frequency: v.frequency,
          start_date: toInstant(v.start),
          contact_emails: parseEmails(v.emails),
        },
      }),
    onSuccess: async (res) => {
      await refreshConnection(qc, program, connection.id);
      // The page's title is the connection's name, rendered by the server.
      router.refresh();
      const changed = res.data.frequency !== connection.frequency || res.data.start_date !== connection.start_date;
      onDone(res.data, changed);
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e: Record<string, string> = {};
    if (!v.start) e.start_date = 'Choose the start date.';
    if (parseEmails(v.emails).length === 0) e.contact_emails = 'Enter at least one contact email.';
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate();
  }
  return (
    <Card title="Edit connection">
      <form onSubmit={submit} noValidate className="space-y-5" aria-label="Edit connection">
        <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
          <Field label="Connection name" optional error={fieldError(errors, 'name')} className="sm:col-span-2">
            {(p) => (
              <input {...p} className={inputClass} value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} maxLength={120} />
            )}
          </Field>
          <FrequencyField
            value={v.frequency}
            onChange={(e) => setV({ ...v, frequency: e.target.value })}
            error={fieldError(errors, 'frequency')}
          />
          <Field label="Start date" error={fieldError(errors, 'start_date')}>
            {(p) => (
              <input {...p} type="date" className={inputClass} value={v.start} onChange={(e) => setV({ ...v, start: e.target.value })} />
            )}
          </Field>
          <Field
            label="Contact emails"
            className="sm:col-span-2"
            error={fieldError(errors, 'contact_emails')}
            hint="Separate addresses with commas or new lines."
          >
            {(p) => (
              <textarea {...p} rows={2} className={inputClass} value={v.emails} onChange={(e) => setV({ ...v, emails: e.target.value })} />
            )}
          </Field>
        </div>
        {v.frequency !== connection.frequency || v.start !== connection.start_date.slice(0, 10) ? (
          <p className="rounded-lg bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="schedule-preview">
            Once started again: {scheduleStart(connection, v.frequency as Connection['frequency'], toInstant(v.start))}
          </p>
        ) : null}
        {save.isError ? <ErrorNotice title="The changes were not saved" error={save.error} /> : null}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={() => onDone()}>Cancel</Button>
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save changes
          </Button>
        </div>
      </form>
    </Card>
  );
}

function Overview({
  program,
  connection,
  perms,
  editing,
  setEditing,
}: {
  program: number;
  connection: Connection;
  perms: Perms;
  editing: boolean;
  setEditing: (b: boolean) => void;
}) {
  const c = connection;
  // After an edit of the schedule: from which window the new schedule starts.
  const [changed, setChanged] = useState<string | null>(null);
  const once = c.status === 'stopped' ? firstWindowOf(c, c.frequency, c.start_date) : undefined;
  const upcoming = c.next_window ?? (once ? { start: once.start.toISOString(), end: once.end.toISOString() } : null);
  const upcomingText = upcoming
    ? windowLabel(upcoming.start, upcoming.end)
    : c.status === 'active'
      ? 'Being planned'
      : 'None while not active';
  return (
    <div className="space-y-6">
      {editing && perms.canWrite && c.status === 'stopped' ? (
        <EditForm
          program={program}
          connection={c}
          onDone={(saved, scheduleChanged) => {
            setEditing(false);
            if (saved && scheduleChanged) setChanged(scheduleStart(saved, saved.frequency, saved.start_date));
          }}
        />
      ) : null}
      {changed ? (
        <div data-testid="schedule-change">
          <Notice tone="info" title="Schedule changed">
            <p>The new schedule starts once the connection is started: {changed}</p>
          </Notice>
        </div>
      ) : null}
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Card title="Schedule">
          <DefinitionList
            items={[
              { term: 'Frequency', value: frequencyLabel(c.frequency) },
              { term: 'Start date', value: dateStr(c.start_date) },
              { term: 'End date', value: c.end_date ? dateStr(c.end_date) : 'None (runs until stopped)' },
              { term: 'Contact emails', value: c.contact_emails.join(', ') || '—' },
              {
                term: 'Last delivery',
                value: c.last_delivery ? (
                  <span className="inline-flex flex-wrap items-center gap-1.5">
                    <StatusBadge status={c.last_delivery.status} /> {dt(c.last_delivery.finished_at)}
                  </span>
                ) : (
                  'None yet'
                ),
              },
              {
                term: c.status === 'stopped' ? 'Next window once started' : 'Next window',
                value: <span data-testid="next-window">{upcomingText}</span>,
              },
              {
                term: 'Next delivery expected',
                value: c.next_delivery
                  ? dt(c.next_delivery.expected_at)
                  : c.status === 'active'
                    ? 'Being planned'
                    : 'None while not active',
              },
              { term: 'Planned through', value: dt(c.planned_through) },
              { term: 'Last updated', value: dt(c.updated_at) },
            ]}
          />
        </Card>
        <Card title="Destination">
          <DefinitionList
            items={[
              { term: 'Delivery', value: kindLabel(c.kind) },
              { term: 'File format', value: (c.format ?? 'csv').toUpperCase() },
              ...(c.sftp
                ? [
                    { term: 'Server', value: <span className="font-mono text-xs">{`${c.sftp.host}:${c.sftp.port}`}</span> },
                    { term: 'Folder', value: <span className="font-mono text-xs">{c.sftp.folder}</span> },
                    { term: 'Username', value: <span className="font-mono text-xs">{c.sftp.username}</span> },
                    { term: 'Authentication', value: c.sftp.auth_method === 'private_key' ? 'Private key' : 'Password' },
                    { term: 'Host key', value: <span className="font-mono text-xs break-all">{c.sftp.host_key_fingerprint ?? '—'}</span> },
                    {
                      term: 'Encryption',
                      value: c.sftp.pgp_key ? (
                        <span data-testid="pgp-encryption">
                          Encrypted to OpenPGP key <span className="block font-mono text-xs">{c.sftp.pgp_key.fingerprint}</span>
                          {c.sftp.pgp_key.user_ids.length ? (
                            <span className="block text-xs text-slate-500">{c.sftp.pgp_key.user_ids.join(', ')}</span>
                          ) : null}
                        </span>
                      ) : (
                        'None (files are delivered as they are)'
                      ),
                    },
                    { term: 'Last tested', value: dt(c.last_tested_at) },
                  ]
                : c.destination.pushes
                  ? [
                      {
                        term: 'Location',
                        value: (
                          <span className="font-mono text-xs break-all" data-testid="destination-location">
                            {c.destination.label}
                          </span>
                        ),
                      },
                      { term: 'Last tested', value: dt(c.last_tested_at) },
                    ]
                  : [{ term: 'Collected at', value: <span className="font-mono text-xs">/api/v1/data_exports/…</span> }]),
            ]}
          />
          <p className="mt-4 rounded-lg bg-slate-50 px-3 py-2 text-xs text-slate-600" data-testid="immutable-note">
            {c.kind === 'sftp'
              ? 'The password or private key and the OpenPGP key can be replaced while the connection is stopped. To change the rest, delete this connection and create a new one.'
              : replaceableSecret(c)
                ? `The ${replaceableSecret(c)} can be replaced while the connection is stopped. To change the rest, delete this connection and create a new one.`
                : 'To change these, delete this connection and create a new one.'}
          </p>
        </Card>
      </div>
      {c.kind === 'postgres' || c.kind === 'mysql' ? <LoadedTables program={program} connection={c} /> : null}
      <ConnectionNotifications program={program} connection={c} canWrite={perms.canWrite} />
    </div>
  );
}

export function ConnectionDetail({ program, id, perms }: { program: number; id: string; perms: Perms }) {
  const [url, setUrl] = useUrlFilters(TAB_FILTER);
  const tab = (url.tab || 'overview') as Tab;
  // Another tab's filters stay behind: each tab starts unfiltered, as it did before.
  const setTab = (t: Tab) => setUrl({ tab: t === 'overview' ? '' : t }, { only: tab !== t });
  const [editing, setEditing] = useState(false);
  const q = useQuery({
    queryKey: ['connection', program, id],
    queryFn: () => api<Answer<typeof connectionResponse>>(`/api/v1/connections/${id}`, program),
    refetchInterval: (query) => (query.state.data?.data.status === 'pausing' ? 2_000 : 15_000),
  });

  if (q.isPending) return <Loading label="Loading the connection…" />;
  if (q.isError)
    return (
      <div className="space-y-4">
        <ErrorNotice
          title={q.error instanceof ApiError && q.error.status === 404 ? 'Connection not found' : 'The connection could not be loaded'}
          error={q.error}
          onRetry={() => void q.refetch()}
        />
        <Link href={CONNECTIONS_PATH} className="text-sm font-medium text-brand-700 underline">
          Back to connections
        </Link>
      </div>
    );
  const c = q.data.data;

  const onKey = (e: KeyboardEvent<HTMLButtonElement>, i: number) => {
    const next =
      e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const t = TABS[(next + TABS.length) % TABS.length];
    setTab(t.id);
    document.getElementById(`tab-${t.id}`)?.focus();
  };

  return (
    <div className="space-y-6">
      <Link href={CONNECTIONS_PATH} className="inline-flex text-sm font-medium text-brand-700 hover:underline">
        ← All connections
      </Link>
      <div className="flex flex-col gap-4 md:flex-row md:items-center md:justify-between">
        <div className="min-w-0">
          <div className="flex flex-wrap items-center gap-2">
            <span data-testid="connection-status">
              <StatusBadge status={c.status} />
            </span>
            <p className="text-sm [overflow-wrap:anywhere] text-slate-600">
              {c.kind === 'api' ? 'API' : kindLabel(c.kind)} · {destination(c)} · {frequencyLabel(c.frequency)}
            </p>
          </div>
          {c.status === 'pausing' ? <p className="mt-1 text-xs text-amber-800">Pausing after the delivery in progress finishes…</p> : null}
        </div>
        {perms.canWrite ? (
          <ConnectionActions
            program={program}
            connection={c}
            onEdit={() => {
              setTab('overview');
              setEditing(true);
            }}
          />
        ) : null}
      </div>

      <HealthStrip program={program} connection={c} />

      <div
        role="tablist"
        aria-label="Connection sections"
        className="-mx-4 flex gap-1 overflow-x-auto border-b border-slate-200 px-4 sm:mx-0 sm:px-0"
      >
        {TABS.map((t, i) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            role="tab"
            type="button"
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => onKey(e, i)}
            className={`-mb-px shrink-0 border-b-2 px-3 py-2.5 text-sm font-medium whitespace-nowrap ${tab === t.id ? 'border-brand-600 text-brand-700' : 'border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900'}`}
          >
            {t.label}
          </button>
        ))}
      </div>

      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'overview' ? <Overview program={program} connection={c} perms={perms} editing={editing} setEditing={setEditing} /> : null}
        {tab === 'history' ? <EventHistory program={program} connection={c} canRetry={perms.canRetry} /> : null}
        {tab === 'folders' ? <Folders program={program} connection={c} canDownload={perms.canDownload} /> : null}
        {tab === 'completeness' ? <Completeness program={program} connection={c} /> : null}
        {tab === 'historical' ? <HistoricalRequests program={program} connection={c} canWrite={perms.canHistorical} /> : null}
      </div>
    </div>
  );
}
