// Set Up API: schedule and contacts, then how to get a token and collect the files with curl.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, useSyncExternalStore, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import { CONNECTIONS_PATH } from './paths';
import { connectionName } from './describe';
import { todayIso } from '@/components/ui/formatters';
import { checkSchedule, ScheduleFields, scheduleBody, SetupFormButtons, type Schedule } from './setup-fields';
import { Card, CopyButton, ErrorNotice } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse } from '@/lib/management/responses';

function Code({ children }: { children: string }) {
  return (
    <div className="mt-2 overflow-hidden rounded-lg bg-slate-900">
      <div className="flex items-center justify-between border-b border-slate-700 px-3 py-1.5">
        <span className="text-[11px] font-medium tracking-wide text-slate-400 uppercase">Shell</span>
        <CopyButton text={children} />
      </div>
      <pre className="px-3 py-3 font-mono text-xs leading-5 break-all whitespace-pre-wrap text-slate-100">{children}</pre>
    </div>
  );
}

const noSubscription = () => () => undefined;

/**
 * This site's origin as the browser reached it. The server renders a placeholder and the browser
 * swaps its own origin in after hydration (rendering the browser's origin at once would differ from
 * the server's HTML, a hydration error).
 */
function useOrigin(): string {
  return useSyncExternalStore(
    noSubscription,
    () => window.location.origin,
    () => 'https://dde.example.com',
  );
}

export function ApiInstructions({ program }: { program: number }) {
  const origin = useOrigin();
  return (
    <Card title="Collect the files through the export API">
      <ol className="space-y-5 text-sm text-slate-700">
        <li>
          <p className="font-medium text-slate-900">1. Create an API client</p>
          <p className="mt-1">
            On the{' '}
            <Link href={`${CONNECTIONS_PATH}/api-access`} className="font-medium text-brand-700 underline">
              API access
            </Link>{' '}
            page, create a client for this program. Its secret is shown once: store it in your secret manager.
          </p>
        </li>
        <li>
          <p className="font-medium text-slate-900">2. Get an access token</p>
          <Code>{`curl -s -X POST ${origin}/api/oauth/token \\
  -u "$CLIENT_ID:$CLIENT_SECRET" \\
  -d grant_type=client_credentials \\
  -d scope=data_exports.read`}</Code>
        </li>
        <li>
          <p className="font-medium text-slate-900">3. Find the latest activities file</p>
          <Code>{`curl -s ${origin}/api/v1/data_exports/activities/latest?program=${program} \\
  -H "Authorization: Bearer $ACCESS_TOKEN"`}</Code>
        </li>
        <li>
          <p className="font-medium text-slate-900">4. Download it with its signed link and verify the checksum</p>
          <Code>{`curl -s -o activities.csv.gz "$DOWNLOAD_URL"
echo "$SHA256  activities.csv.gz" | sha256sum -c -`}</Code>
          <p className="mt-1 text-xs text-slate-500">
            <span className="font-mono">download_url</span> and <span className="font-mono">sha256</span> come from step 3. The same works
            for <span className="font-mono">users</span> and <span className="font-mono">campaigns</span>.{' '}
            <Link href="/docs/api" className="font-medium text-brand-700 underline">
              Full API reference
            </Link>
          </p>
        </li>
      </ol>
    </Card>
  );
}

export function ApiSetupForm({ program, programName }: { program: number; programName: string }) {
  const qc = useQueryClient();
  const [schedule, setSchedule] = useState<Schedule>({
    name: '',
    start: todayIso(),
    end: '',
    frequency: 'daily',
    format: 'csv',
    emails: '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      api<Answer<typeof connectionResponse>>('/api/v1/connections', program, {
        method: 'POST',
        body: { kind: 'api', ...scheduleBody(schedule) },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['connections', program] }),
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e = checkSchedule(schedule);
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate();
  }

  if (save.isSuccess) {
    const c = save.data.data;
    return (
      <div className="mx-auto max-w-3xl space-y-6">
        <div className="rounded-xl border border-emerald-200 bg-emerald-50 px-5 py-5" data-testid="api-created">
          <p className="text-lg font-semibold text-emerald-900" role="status">
            API Connection Active
          </p>
          <p className="mt-1 text-sm text-emerald-800">
            {connectionName(c)} prepares {programName}’s files on schedule. Collect them as shown below.
          </p>
          <div className="mt-3">
            <Link href={`${CONNECTIONS_PATH}/${c.id}`} className="text-sm font-semibold text-emerald-900 underline">
              View connection
            </Link>
          </div>
        </div>
        <ApiInstructions program={program} />
      </div>
    );
  }

  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
      <form onSubmit={submit} noValidate className="space-y-6">
        <Card title="Schedule">
          <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} pushes={false} />
        </Card>
        {save.isError ? <ErrorNotice title="The connection was not saved" error={save.error} /> : null}
        <SetupFormButtons busy={save.isPending} />
      </form>
      <ApiInstructions program={program} />
    </div>
  );
}
