// Schedule and contact fields shared by the SFTP and API set-up forms (and the frequency field by
// the edit form), with their client-side checks; the set-up forms' Cancel / Save row.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { regexes } from 'zod/v4/core';
import { api } from '@/components/api/client';
import { CONNECTIONS_PATH } from './paths';
import { FREQUENCIES, frequencyLabel } from './describe';
import { Button, Field, fieldError, inputClass } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { configResponse } from '@/lib/management/responses';

export type Schedule = { name: string; start: string; end: string; frequency: string; format: string; emails: string };
/** The file formats, each with one line on what it is for (shown under the choice). */
export const FORMAT_OPTIONS = [
  { value: 'csv', label: 'CSV (gzip)', use: 'CSV (gzip): the classic text files, for any loader or script.' },
  { value: 'jsonl', label: 'JSON Lines (gzip)', use: 'JSON Lines (gzip): one JSON object per row, for code and log pipelines.' },
  { value: 'xlsx', label: 'Excel (.xlsx)', use: 'Excel (.xlsx): for people opening the files in a spreadsheet.' },
  {
    value: 'parquet',
    label: 'Parquet (.parquet)',
    use: 'Parquet: typed columns (timestamps, counts, lists), for warehouses and lakes (Snowflake, BigQuery, Athena, Spark, DuckDB, pandas).',
  },
];

export function parseEmails(s: string): string[] {
  return s
    .split(/[\s,;]+/)
    .map((e) => e.trim())
    .filter(Boolean);
}

// The API's rule for an address (zod's, which the server's contact_emails schema applies), so the form refuses what Save would.
const EMAIL = regexes.email;

/** Client-side checks of the schedule; server messages (422) use the API's field paths. */
export function checkSchedule(s: Schedule): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.start) e.start_date = 'Choose the start date.';
  if (s.end && s.start && s.end <= s.start) e.end_date = 'The end date must be after the start date.';
  if (!s.frequency) e.frequency = 'Choose how often to export.';
  const emails = parseEmails(s.emails);
  if (emails.length === 0) e.contact_emails = 'Enter at least one contact email.';
  else {
    const bad = emails.find((x) => !EMAIL.test(x));
    if (bad) e.contact_emails = `“${bad}” is not a valid email address.`;
    else if (emails.length > 20) e.contact_emails = 'At most 20 contact emails.';
  }
  return e;
}

export const toInstant = (date: string) => `${date}T00:00:00Z`;

export function scheduleBody(s: Schedule) {
  return {
    ...(s.name.trim() ? { name: s.name.trim() } : {}),
    frequency: s.frequency,
    start_date: toInstant(s.start),
    ...(s.end ? { end_date: toInstant(s.end) } : {}),
    contact_emails: parseEmails(s.emails),
    format: s.format,
  };
}

export function FrequencyField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (ev: { target: { value: string } }) => void;
  error?: string;
}) {
  return (
    <Field label="Frequency" error={error}>
      {(p) => (
        <select {...p} className={inputClass} value={value} onChange={onChange}>
          {FREQUENCIES.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Cancel (back to the list) and Save connection, at the foot of a set-up form. */
export function SetupFormButtons({ busy }: { busy: boolean }) {
  return (
    <div className="flex flex-col-reverse gap-3 sm:flex-row sm:justify-end">
      <Link
        href={CONNECTIONS_PATH}
        className="inline-flex justify-center rounded-lg px-3.5 py-2 text-sm font-semibold text-slate-700 hover:bg-slate-100"
      >
        Cancel
      </Link>
      <Button type="submit" variant="primary" busy={busy}>
        Save connection
      </Button>
    </div>
  );
}

/** How many reports a frequency makes: one per window. */
const REPORTS_PER: Record<string, string> = {
  every_4_hours: '6 emails a day',
  daily: 'one email a day',
  weekly: 'one email a week',
  monthly: 'one email a month',
};

/**
 * What the contact emails will receive at the chosen frequency, with the kind's default report
 * setting (lib/notify/run-events.ts, reportModeOf: every run where DDE delivers, failures only where
 * a pipeline collects the files), and where to change it.
 */
export function reportMailLine(frequency: string, pushes: boolean): string {
  const every = frequencyLabel(frequency).toLowerCase();
  const count = REPORTS_PER[frequency];
  if (!count) return '';
  const where = 'on the connection’s page once it is saved (Reports and auto-pause)';
  return pushes
    ? `Each contact receives a report of every delivery, successful or failed: ${every}, that is ${count}. For fewer, choose Failures only or A daily digest ${where}.`
    : `Each contact receives a report only when a window fails (the default where your pipeline collects the files): ${every}, at most ${count}. For a report of every window or a daily digest, change it ${where}.`;
}

export function ScheduleFields({
  value,
  onChange,
  errors,
  pushes,
}: {
  value: Schedule;
  onChange: (v: Schedule) => void;
  errors: Record<string, string>;
  /** Whether DDE delivers the files (SFTP, databases, storage) or a pipeline collects them (API): the default reports differ. */
  pushes: boolean;
}) {
  const set = (k: keyof Schedule) => (ev: { target: { value: string } }) => onChange({ ...value, [k]: ev.target.value });
  return (
    <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
      <Field
        label="Connection name"
        optional
        hint="Shown in the list and in emails."
        className="sm:col-span-2"
        error={fieldError(errors, 'name')}
      >
        {(p) => (
          <input
            {...p}
            className={inputClass}
            value={value.name}
            onChange={set('name')}
            maxLength={120}
            placeholder="e.g. Acme data warehouse"
          />
        )}
      </Field>
      <Field label="Start date" error={fieldError(errors, 'start_date')} hint="The first export window starts at 00:00 UTC on this day.">
        {(p) => <input {...p} type="date" className={inputClass} value={value.start} onChange={set('start')} required />}
      </Field>
      <Field label="End date" optional error={fieldError(errors, 'end_date')} hint="Leave empty to export until you stop the connection.">
        {(p) => <input {...p} type="date" className={inputClass} value={value.end} onChange={set('end')} min={value.start || undefined} />}
      </Field>
      <FrequencyField value={value.frequency} onChange={set('frequency')} error={fieldError(errors, 'frequency')} />
      <Field
        label="File format"
        error={fieldError(errors, 'format')}
        hint={FORMAT_OPTIONS.map((f) => (
          <span
            key={f.value}
            className={`block ${f.value === value.format ? 'font-medium text-slate-700' : ''}`}
            data-testid={`format-use-${f.value}`}
          >
            {f.use}
          </span>
        ))}
      >
        {(p) => (
          <select {...p} className={inputClass} value={value.format} onChange={set('format')}>
            {FORMAT_OPTIONS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Contact emails"
        className="sm:col-span-2"
        error={fieldError(errors, 'contact_emails')}
        hint={
          <>
            Separate addresses with commas or new lines. They receive delivery reports and problem alerts.
            <span className="mt-1 block" data-testid="report-mails">
              {reportMailLine(value.frequency, pushes)}
            </span>
          </>
        }
      >
        {(p) => (
          <textarea
            {...p}
            rows={2}
            className={inputClass}
            value={value.emails}
            onChange={set('emails')}
            placeholder="data-team@example.com"
          />
        )}
      </Field>
    </div>
  );
}

/** The addresses customers allowlist, from /api/v1/config. */
export function EgressInfo({ program }: { program: number }) {
  const q = useQuery({
    queryKey: ['config', program],
    queryFn: () => api<Answer<typeof configResponse>>('/api/v1/config', program),
    staleTime: 300_000,
  });
  let body: React.ReactNode;
  if (q.isPending) body = <p className="text-slate-500">Loading…</p>;
  else if (q.isError) body = <p className="text-red-700">Could not load the egress information: {q.error.message}</p>;
  else {
    const info = q.data.data.egress_info;
    if (!info)
      body = (
        <p className="text-slate-600">
          No fixed egress addresses are configured for this installation. Ask your DDE operator which addresses to allow.
        </p>
      );
    else body = <p className="font-mono text-xs break-all whitespace-pre-wrap text-slate-800">{info}</p>;
  }
  return (
    <section
      aria-labelledby="egress-heading"
      className="rounded-xl border border-slate-200 bg-white px-4 py-4 text-sm shadow-xs"
      data-testid="egress-info"
    >
      <h2 id="egress-heading" className="font-semibold text-slate-900">
        Allow DDE through your firewall
      </h2>
      <p className="mt-1 text-xs text-slate-600">DDE connects to your server from these addresses:</p>
      <div className="mt-2">{body}</div>
    </section>
  );
}
