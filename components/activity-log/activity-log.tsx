// Activity Log: who changed what and when, or the delivery errors with their details; filters (kept
// in the URL), paging, and the filtered log as a CSV download.
'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { EmptyState } from '@/components/ui/empty-state';
import { ActivityIcon } from '@/components/ui/icons';
import { api, apiUrl, type Page } from '@/components/api/client';
import type { ActivityEntry } from '@/lib/management/responses';
import { CONNECTIONS_PATH } from '@/components/connections/paths';
import { dayRange, dt } from '@/components/ui/formatters';
import { Button, ErrorNotice, Field, inputClass, Loading } from '@/components/ui/primitives';
import { buttonClass } from '@/components/ui/button-styles';
import { isoDay, oneOf, useUrlFilters } from '@/components/ui/url-filters';
import { ACTION_TITLES, actionTitle, fieldName, fieldValue } from './values';

/** The action filter, grouped by what changed (option texts differ from the entries' own wording). */
const ACTION_GROUPS: { label: string; actions: [string, string][] }[] = [
  {
    label: 'Connections',
    actions: [
      ['connection.created', 'Set up'],
      ['connection.edited', 'Edited'],
      ['connection.paused_after_transfer', 'Paused after transfer'],
      ['connection.paused_immediately', 'Paused immediately'],
      ['connection.auto_paused', 'Paused after failed windows'],
      ['connection.pause_completed', 'Paused once the transfer finished'],
      ['connection.resumed', 'Resumed'],
      ['connection.stopped', 'Stopped'],
      ['connection.credentials_replaced', 'Credentials replaced'],
      ['connection.pgp_key_replaced', 'OpenPGP key replaced'],
      ['connection.notifications_changed', 'Reports changed'],
      ['connection.started', 'Started'],
      ['connection.deleted', 'Deleted'],
      ['connection.ended', 'Ended (end date reached)'],
      ['connection.health_changed', 'Daily check failing or passing again'],
    ],
  },
  {
    label: 'Deliveries',
    actions: [
      ['delivery.failed', 'Failed'],
      ['delivery.retried', 'Retried by hand'],
      ['run.open_transaction_wait_exceeded', ACTION_TITLES['run.open_transaction_wait_exceeded']],
    ],
  },
  {
    label: 'Webhooks',
    actions: [
      ['webhook.created', 'Webhook added'],
      ['webhook.updated', 'Webhook changed'],
      ['webhook.deleted', 'Webhook deleted'],
      ['webhook.test', 'Test event sent'],
      ['webhook.redelivered', 'Redelivered'],
    ],
  },
  {
    label: 'Historical data',
    actions: [
      ['historical_request.created', 'Requested'],
      ['historical_request.cancelled', 'Request cancelled'],
    ],
  },
  {
    label: 'API access',
    actions: [
      ['api_client.created', 'Client added'],
      ['api_client.revoked', 'Client revoked'],
      ['api_token.created', 'Token added'],
      ['api_token.revoked', 'Token revoked'],
    ],
  },
];

const TARGET_TYPES: [string, string][] = [
  ['connection', 'Connections'],
  ['export_run', 'Runs'],
  ['webhook', 'Webhooks'],
  ['historical_request', 'Historical requests'],
  ['api_client', 'API clients'],
  ['api_token', 'Tokens'],
];

/** The filters, kept in the URL (?kind=delivery_errors&from=2026-11-01); values the page does not offer are ignored. */
const FILTERS = {
  kind: oneOf(['audit', 'delivery_errors']),
  action: oneOf(ACTION_GROUPS.flatMap((g) => g.actions.map(([value]) => value))),
  target_type: oneOf(TARGET_TYPES.map(([value]) => value)),
  from: isoDay,
  to: isoDay,
};
type FilterKey = keyof typeof FILTERS;

function actorLabel(a: ActivityEntry['actor']): string {
  return a === 'system' ? 'System' : a;
}

/** The fields that changed between before and after, as "field: old → new". */
function changes(before: unknown, after: unknown): { field: string; from: string; to: string }[] {
  const b = (before && typeof before === 'object' ? before : {}) as Record<string, unknown>;
  const a = (after && typeof after === 'object' ? after : {}) as Record<string, unknown>;
  const keys = Array.from(new Set([...Object.keys(b), ...Object.keys(a)]));
  return keys
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => ({ field: fieldName(k), from: fieldValue(k, b[k]), to: fieldValue(k, a[k]) }));
}

function nameOf(e: ActivityEntry): string | null {
  if (e.target_name) return e.target_name;
  for (const side of [e.after, e.before]) {
    const n = side && typeof side === 'object' ? (side as { name?: unknown }).name : undefined;
    if (typeof n === 'string' && n) return n;
  }
  return null;
}

function EntryDetails({ e }: { e: ActivityEntry }) {
  const diff = changes(e.before, e.after);
  const details =
    e.details && typeof e.details === 'object'
      ? Object.entries(e.details as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined && v !== '')
      : [];
  if (diff.length === 0 && details.length === 0) return null;
  return (
    <details className="mt-1.5 text-xs">
      <summary className="cursor-pointer text-brand-700 hover:underline">Details</summary>
      <dl className="mt-2 space-y-1 rounded-lg bg-slate-50 px-3 py-2">
        {diff.map((d) => (
          <div key={d.field} className="flex flex-wrap gap-x-2">
            <dt className="font-medium text-slate-700">{d.field}:</dt>
            <dd className="break-all text-slate-600">
              {e.before ? <span className="line-through decoration-slate-400">{d.from}</span> : null}
              {e.before ? ' → ' : null}
              <span>{d.to}</span>
            </dd>
          </div>
        ))}
        {details.map(([k, v]) => (
          <div key={k} className="flex flex-wrap gap-x-2">
            <dt className="font-medium text-slate-700">{fieldName(k)}:</dt>
            <dd className="break-all text-slate-600">{fieldValue(k, v)}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

export function ActivityLog({ program, programName }: { program: number; programName: string }) {
  const [url, setUrl] = useUrlFilters(FILTERS);
  // Changes and failures together is the default (?kind= left out), so a failed delivery is never hidden.
  const f = { ...url, kind: url.kind === 'delivery_errors' || url.kind === 'audit' ? url.kind : ('all' as const) };
  const filterQuery = {
    kind: f.kind,
    action: f.kind !== 'delivery_errors' ? f.action : '',
    target_type: f.kind !== 'delivery_errors' ? f.target_type : '',
    ...dayRange(f.from, f.to),
  };
  const q = useInfiniteQuery({
    queryKey: ['activity', program, filterQuery],
    queryFn: ({ pageParam }) =>
      api<Page<ActivityEntry>>('/api/v1/activity-log', program, { query: { ...filterQuery, limit: 50, cursor: pageParam } }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  // "Changes and failures" is the default: it leaves ?kind= out of the URL.
  const set = (k: FilterKey) => (e: { target: { value: string } }) =>
    setUrl({ [k]: k === 'kind' && e.target.value === 'all' ? '' : e.target.value });
  const entries = q.data?.pages.flatMap((p) => p.data) ?? [];
  const filtered = Boolean((f.kind !== 'delivery_errors' && (f.action || f.target_type)) || f.from || f.to);

  return (
    <div className="space-y-5">
      <div
        className="grid grid-cols-2 gap-3 rounded-xl border border-slate-200 bg-white px-4 py-4 shadow-xs md:grid-cols-5"
        role="search"
        aria-label="Filter the activity log"
      >
        <Field label="Show" className="col-span-2 md:col-span-1">
          {(p) => (
            <select {...p} className={inputClass} value={f.kind} onChange={set('kind')}>
              <option value="all">Changes and failures</option>
              <option value="audit">Changes only</option>
              <option value="delivery_errors">Delivery errors only</option>
            </select>
          )}
        </Field>
        <Field label="Action">
          {(p) => (
            <select {...p} className={inputClass} value={f.action} onChange={set('action')} disabled={f.kind === 'delivery_errors'}>
              <option value="">Any</option>
              {ACTION_GROUPS.map((g) => (
                <optgroup key={g.label} label={g.label}>
                  {g.actions.map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </Field>
        <Field label="About">
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={f.target_type}
              onChange={set('target_type')}
              disabled={f.kind === 'delivery_errors'}
            >
              <option value="">Anything</option>
              {TARGET_TYPES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From">{(p) => <input {...p} type="date" className={inputClass} value={f.from} onChange={set('from')} />}</Field>
        <Field label="To">{(p) => <input {...p} type="date" className={inputClass} value={f.to} onChange={set('to')} />}</Field>
      </div>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-slate-600">
          {f.kind === 'delivery_errors' ? 'Failed deliveries' : f.kind === 'audit' ? 'Changes' : 'Changes and failed deliveries'}
          {filtered ? ' matching these filters' : ''}, newest first.
        </p>
        <a
          href={apiUrl('/api/v1/activity-log.csv', program, filterQuery)}
          className={buttonClass('secondary', 'sm')}
          download
          data-testid="download-csv"
        >
          Download CSV
        </a>
      </div>

      {q.isPending ? (
        <Loading label="Loading activity…" />
      ) : q.isError ? (
        <ErrorNotice title="The activity log could not be loaded" error={q.error} onRetry={() => void q.refetch()} />
      ) : entries.length === 0 ? (
        <EmptyState
          icon={<ActivityIcon />}
          title={f.kind === 'delivery_errors' ? 'No delivery errors' : filtered ? 'Nothing matches these filters' : 'No activity yet'}
        >
          {f.kind === 'delivery_errors' ? (
            <>Every delivery of {programName} in this range went through.</>
          ) : filtered ? (
            'Try a wider date range or another action.'
          ) : (
            <>
              When someone creates, pauses, resumes, edits or deletes a connection in{' '}
              <span className="font-medium text-slate-800">{programName}</span>, retries a delivery or requests historical data, it is
              recorded here with who did it and when.
            </>
          )}
        </EmptyState>
      ) : (
        <section
          aria-label={`Activity in ${programName}`}
          className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-xs"
        >
          <div
            aria-hidden
            className="hidden gap-6 bg-slate-50 px-5 py-3 text-xs font-medium tracking-wide text-slate-500 uppercase sm:flex"
          >
            <span className="w-44 shrink-0">When</span>
            <span className="flex-1">Change</span>
            <span className="w-56 shrink-0 text-right">By</span>
          </div>
          <ol className="divide-y divide-slate-100">
            {entries.map((e) => {
              const name = nameOf(e);
              return (
                <li
                  key={`${e.action}-${e.id}`}
                  className="flex flex-col gap-1 px-4 py-3.5 sm:flex-row sm:items-start sm:gap-6 sm:px-5"
                  data-testid="activity-entry"
                >
                  <time dateTime={e.at} className="shrink-0 text-xs text-slate-500 tabular-nums sm:w-44 sm:pt-0.5">
                    {dt(e.at)}
                  </time>
                  <div className="min-w-0 flex-1 text-sm text-slate-800">
                    <p>
                      <span className={`font-medium ${e.action === 'delivery.failed' ? 'text-red-700' : ''}`}>{actionTitle(e.action)}</span>
                      {name ? (
                        <>
                          <span className="text-slate-400"> · </span>
                          {e.connection_id && e.action !== 'connection.deleted' ? (
                            <Link href={`${CONNECTIONS_PATH}/${e.connection_id}`} className="text-brand-700 hover:underline">
                              {name}
                            </Link>
                          ) : (
                            <span className="text-slate-600">{name}</span>
                          )}
                        </>
                      ) : e.target_id ? (
                        <span className="ml-1.5 font-mono text-xs text-slate-500">{e.target_id.slice(0, 8)}</span>
                      ) : null}
                    </p>
                    <EntryDetails e={e} />
                  </div>
                  <p className="truncate text-sm text-slate-600 sm:w-56 sm:shrink-0 sm:text-right">{actorLabel(e.actor)}</p>
                </li>
              );
            })}
          </ol>
          {q.hasNextPage ? (
            <div className="flex justify-center border-t border-slate-100 px-5 py-3">
              <Button onClick={() => void q.fetchNextPage()} busy={q.isFetchingNextPage}>
                Load older entries
              </Button>
            </div>
          ) : null}
        </section>
      )}
    </div>
  );
}
