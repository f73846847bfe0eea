// A connection's webhooks: add one (the secret shown once), send a test, disable, delete, and each
// endpoint's delivery log with Redeliver.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import type { Webhook } from '@/lib/webhooks/responses';
import { dt } from '@/components/ui/formatters';
import { Button, Card, CopyButton, Dialog, ErrorNotice, Field, inputClass, Loading, Notice, StatusBadge } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { createdSchema, deliveryListResponse, deliveryResponse, webhookListResponse } from '@/lib/webhooks/responses';

const EVENTS = [
  { id: 'files.ready', label: 'Files ready' },
  { id: 'delivery.failed', label: 'Delivery failed' },
  { id: 'connection.paused', label: 'Connection paused' },
] as const;
type Endpoint = Webhook;

function DeliveryLog({ program, endpoint, canWrite }: { program: number; endpoint: Endpoint; canWrite: boolean }) {
  const qc = useQueryClient();
  const key = ['webhook-log', program, endpoint.id];
  const q = useQuery({
    queryKey: key,
    queryFn: () =>
      api<Answer<typeof deliveryListResponse>>(`/api/v1/webhooks/${endpoint.id}/deliveries`, program, { query: { limit: 20 } }),
    // A message on its way (a redelivery just queued) is followed each second until it has an answer;
    // otherwise the log refreshes every 10 s.
    refetchInterval: (query) => (query.state.data?.data.some((m) => m.status === 'pending' || m.status === 'sending') ? 1_000 : 10_000),
  });
  const redeliver = useMutation({
    mutationFn: (id: string) => api(`/api/v1/webhooks/${endpoint.id}/deliveries/${id}/redeliver`, program, { method: 'POST' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: key }),
  });
  if (q.isPending) return <Loading label="Loading the delivery log…" />;
  if (q.isError) return <ErrorNotice title="The delivery log could not be loaded" error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.data.length === 0) return <p className="text-sm text-slate-500">Nothing sent yet.</p>;
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full text-left text-xs" data-testid="webhook-log">
        <thead className="text-slate-500">
          <tr>
            <th className="py-1.5 pr-3 font-medium">Event</th>
            <th className="py-1.5 pr-3 font-medium">Status</th>
            <th className="py-1.5 pr-3 font-medium">Attempts</th>
            <th className="py-1.5 pr-3 font-medium">Response</th>
            <th className="py-1.5 pr-3 font-medium">Latency</th>
            <th className="py-1.5 pr-3 font-medium">Last attempt</th>
            <th className="py-1.5 font-medium" />
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {q.data.data.map((m) => (
            <tr key={m.id}>
              <td className="py-1.5 pr-3 font-mono">{m.event}</td>
              <td className="py-1.5 pr-3">
                <StatusBadge status={m.status === 'succeeded' ? 'delivered' : m.status} label={m.status} />
                {m.error ? <span className="ml-1 text-slate-500">{m.error}</span> : null}
                {m.next_attempt_at ? <span className="ml-1 text-slate-500">next {dt(m.next_attempt_at)}</span> : null}
              </td>
              <td className="py-1.5 pr-3">{m.attempts}</td>
              <td className="py-1.5 pr-3">{m.response_code ?? '—'}</td>
              <td className="py-1.5 pr-3">{m.latency_ms === null ? '—' : `${m.latency_ms} ms`}</td>
              <td className="py-1.5 pr-3">{dt(m.last_attempt_at)}</td>
              <td className="py-1.5 text-right">
                {canWrite ? (
                  <Button size="sm" busy={redeliver.isPending && redeliver.variables === m.id} onClick={() => redeliver.mutate(m.id)}>
                    Redeliver
                  </Button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EndpointRow({
  program,
  endpoint,
  canWrite,
  onChange,
}: {
  program: number;
  endpoint: Endpoint;
  canWrite: boolean;
  onChange: () => void;
}) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const test = useMutation({
    mutationFn: () => api<Answer<typeof deliveryResponse>>(`/api/v1/webhooks/${endpoint.id}/test`, program, { method: 'POST' }),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['webhook-log', program, endpoint.id] }),
  });
  const patch = useMutation({
    mutationFn: (body: unknown) => api(`/api/v1/webhooks/${endpoint.id}`, program, { method: 'PATCH', body }),
    onSuccess: onChange,
  });
  const remove = useMutation({
    mutationFn: () => api(`/api/v1/webhooks/${endpoint.id}`, program, { method: 'DELETE' }),
    onSuccess: () => {
      setConfirmingDelete(false);
      onChange();
    },
  });
  const result = test.data?.data;
  return (
    <li className="space-y-2 py-3" data-testid="webhook">
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
        <div className="min-w-0">
          <p className="font-mono text-xs [overflow-wrap:anywhere] text-slate-900">{endpoint.url}</p>
          <p className="text-xs text-slate-500">
            {endpoint.events.join(', ')}
            {endpoint.enabled ? '' : ' · disabled'}
            {endpoint.last_delivery ? ` · last: ${endpoint.last_delivery.status} ${endpoint.last_delivery.status_code ?? ''}` : ''}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          {canWrite ? (
            <>
              <Button size="sm" busy={test.isPending} onClick={() => test.mutate()}>
                Send test
              </Button>
              <Button size="sm" busy={patch.isPending} onClick={() => patch.mutate({ enabled: !endpoint.enabled })}>
                {endpoint.enabled ? 'Disable' : 'Enable'}
              </Button>
              <Button size="sm" variant="dangerGhost" onClick={() => setConfirmingDelete(true)}>
                Delete
              </Button>
            </>
          ) : null}
          <Button size="sm" variant="ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide log' : 'Delivery log'}
          </Button>
        </div>
      </div>
      {result ? (
        <p className={`text-xs ${result.status === 'succeeded' ? 'text-emerald-800' : 'text-red-700'}`} role="status">
          Test {result.status === 'succeeded' ? 'delivered' : 'failed'}: {result.response_code ?? 'no answer'}
          {result.latency_ms !== null ? ` in ${result.latency_ms} ms` : ''}
          {result.error ? ` — ${result.error}` : ''}
        </p>
      ) : null}
      {test.isError ? <ErrorNotice title="The test was not sent" error={test.error} /> : null}
      {patch.isError ? <ErrorNotice title="Not changed" error={patch.error} /> : null}
      {open ? <DeliveryLog program={program} endpoint={endpoint} canWrite={canWrite} /> : null}
      <Dialog
        open={confirmingDelete}
        title="Delete this webhook?"
        onClose={() => setConfirmingDelete(false)}
        footer={
          <>
            <Button onClick={() => setConfirmingDelete(false)}>Cancel</Button>
            <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
              Delete webhook
            </Button>
          </>
        }
      >
        <p>
          DDE stops posting to <span className="font-mono [overflow-wrap:anywhere]">{endpoint.url}</span>, including retries of messages not
          yet delivered. The Activity Log keeps the record.
        </p>
        {remove.isError ? <ErrorNotice title="The webhook was not deleted" error={remove.error} /> : null}
      </Dialog>
    </li>
  );
}

function AddWebhook({ program, connection, onDone }: { program: number; connection: Connection; onDone: () => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(EVENTS.map((e) => e.id));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      api<Answer<typeof createdSchema>>(`/api/v1/connections/${connection.id}/webhooks`, program, {
        method: 'POST',
        body: { url: url.trim(), events },
      }),
    onSuccess: onDone,
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const e: Record<string, string> = {};
    if (!/^https?:\/\//i.test(url.trim())) e.url = 'Enter an http:// or https:// URL.';
    if (events.length === 0) e.events = 'Choose at least one event.';
    setErrors(e);
    if (Object.keys(e).length === 0) create.mutate();
  };
  if (create.data) {
    return (
      <Notice tone="success" title="Webhook added">
        <p>Its signing secret is shown only now. Keep it with your receiver to verify each message&apos;s webhook-signature.</p>
        <p className="mt-2 flex flex-wrap items-center gap-2">
          <code className="rounded bg-white px-2 py-1 font-mono text-xs break-all" data-testid="webhook-secret">
            {create.data.data.secret}
          </code>
          <CopyButton text={create.data.data.secret} label="Copy secret" />
        </p>
      </Notice>
    );
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-3" aria-label="Add a webhook">
      <Field label="Endpoint URL" error={errors.url} hint="DDE posts signed JSON (Standard Webhooks) and never follows redirects.">
        {(p) => (
          <input
            {...p}
            className={inputClass}
            value={url}
            placeholder="https://hooks.example.com/dde"
            onChange={(e) => setUrl(e.target.value)}
          />
        )}
      </Field>
      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Events</legend>
        <div className="mt-1.5 flex flex-wrap gap-4">
          {EVENTS.map((ev) => (
            <label key={ev.id} className="inline-flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                checked={events.includes(ev.id)}
                onChange={(e) => setEvents(e.target.checked ? [...events, ev.id] : events.filter((x) => x !== ev.id))}
              />
              {ev.label}
            </label>
          ))}
        </div>
        {errors.events ? <p className="mt-1.5 text-xs text-red-700">{errors.events}</p> : null}
      </fieldset>
      {create.isError && !Object.keys(errors).length ? <ErrorNotice title="The webhook was not added" error={create.error} /> : null}
      <div className="flex justify-end">
        <Button type="submit" variant="primary" busy={create.isPending}>
          Add webhook
        </Button>
      </div>
    </form>
  );
}

export function ConnectionWebhooks({ program, connection, canWrite }: { program: number; connection: Connection; canWrite: boolean }) {
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const key = ['webhooks', program, connection.id];
  const q = useQuery({
    queryKey: key,
    queryFn: () => api<Answer<typeof webhookListResponse>>(`/api/v1/connections/${connection.id}/webhooks`, program),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  return (
    <Card
      title="Webhooks"
      actions={
        canWrite ? (
          <Button size="sm" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Add webhook'}
          </Button>
        ) : null
      }
    >
      <div className="space-y-4 px-4 py-3 sm:px-5">
        <p className="text-xs text-slate-600">
          Your pipeline hears when files are ready, a delivery failed or the connection paused, instead of polling.
        </p>
        {adding && canWrite ? <AddWebhook program={program} connection={connection} onDone={refresh} /> : null}
        {q.isPending ? <Loading label="Loading webhooks…" /> : null}
        {q.isError ? <ErrorNotice title="The webhooks could not be loaded" error={q.error} onRetry={() => void q.refetch()} /> : null}
        {q.data && q.data.data.length === 0 && !adding ? <p className="text-sm text-slate-500">No webhooks yet.</p> : null}
        {q.data && q.data.data.length > 0 ? (
          <ul className="divide-y divide-slate-100">
            {q.data.data.map((e) => (
              <EndpointRow key={e.id} program={program} endpoint={e} canWrite={canWrite} onChange={refresh} />
            ))}
          </ul>
        ) : null}
      </div>
    </Card>
  );
}
