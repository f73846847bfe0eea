// A connection test as the SFTP forms show it: the Test connection button, each step with its
// outcome, and the server's host key to confirm (Set Up SFTP; Replace credentials shows the steps).
'use client';
import type { TestReport } from '@/lib/management/responses';
import { Button, ErrorNotice, Notice, StatusBadge } from '@/components/ui/primitives';

/** Each step of a connection test with its outcome (the set-up forms and Replace credentials). */
export function TestSteps({ result }: { result: Pick<TestReport, 'steps'> }) {
  return (
    <ol className="space-y-2" aria-label="Connection test steps" data-testid="test-steps">
      {result.steps.map((s) => (
        <li key={s.step} className="flex items-start gap-3 rounded-lg bg-slate-50 px-3 py-2">
          <StatusBadge status={s.status} label={s.status === 'ok' ? 'Passed' : s.status === 'failed' ? 'Failed' : 'Skipped'} />
          <div className="min-w-0 text-sm">
            <p className="font-medium text-slate-900">{s.label}</p>
            {s.detail ? <p className="text-xs break-words text-slate-600">{s.detail}</p> : null}
            {s.error ? <p className="text-xs break-words text-red-700">{s.error.message}</p> : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

const testError = (r: TestReport) =>
  (typeof r.error === 'string' ? r.error : r.error?.message) ?? r.steps.find((s) => s.status === 'failed')?.error?.message;

/** The report's first phase: only the host key was read, nothing was sent to the server yet. */
export const isHostKeyPhase = (r: TestReport) => (r as { phase?: string }).phase === 'host_key';

/**
 * Test connection and its result. Two steps: first only the host key (nothing is sent to the
 * server); `onConfirm(true)` is the admin confirming it, after which the form tests sign-in and the folder.
 */
export function ConnectionTestPanel({
  test,
  confirmed,
  busy,
  error,
  problem,
  confirmedKey = null,
  onTest,
  onConfirm,
}: {
  test: TestReport | null;
  confirmed: boolean;
  busy: boolean;
  /** Why the test could not run at all. */
  error: unknown;
  /** What is missing about the test (not run, key not confirmed, fields to fill before testing). */
  problem: string | undefined;
  /** A host key already confirmed for this server: shown while the credentials wait for a new test. */
  confirmedKey?: string | null;
  onTest: () => void;
  onConfirm: (checked: boolean) => void;
}) {
  return (
    <div className="mt-6 border-t border-slate-100 pt-5" data-testid="connection-test">
      <div className="flex flex-wrap items-center gap-3">
        <Button onClick={onTest} busy={busy}>
          Test connection
        </Button>
        <p className="text-xs text-slate-500">
          Connects and shows the server’s host key; once you confirm it, signs in and writes a small test file to the folder.
        </p>
      </div>
      {error ? (
        <div className="mt-4">
          <ErrorNotice title="The test could not run" error={error} />
        </div>
      ) : null}
      {!test && confirmedKey ? (
        <p className="mt-4 text-sm text-slate-700" data-testid="confirmed-host-key">
          Host key <span className="font-mono break-all">{confirmedKey}</span> stays confirmed: test again to sign in with the new details.
        </p>
      ) : null}
      {test ? (
        <div className="mt-4 space-y-4" data-testid="test-result">
          {isHostKeyPhase(test) && test.ok ? (
            <Notice tone="success" title="Host key received">
              Confirm the fingerprint below: DDE then signs in and checks the folder. Nothing was sent to the server yet.
            </Notice>
          ) : (
            <Notice tone={test.ok ? 'success' : 'warning'} title={test.ok ? 'Connection test passed' : 'Connection test failed'}>
              {test.ok ? null : testError(test)}
            </Notice>
          )}
          <TestSteps result={test} />
          {test.hostKeyFingerprint ? (
            <div className="rounded-lg border border-slate-200 px-3 py-3">
              <p className="text-xs font-medium text-slate-500">Host key fingerprint</p>
              <p className="mt-1 font-mono text-sm break-all text-slate-900" data-testid="host-key-fingerprint">
                {test.hostKeyFingerprint}
              </p>
              <label className="mt-3 flex items-start gap-2 text-sm text-slate-800">
                <input
                  type="checkbox"
                  checked={confirmed}
                  onChange={(e) => onConfirm(e.target.checked)}
                  className="mt-0.5 size-4 accent-brand-600"
                />
                I confirm this is my server’s key
              </label>
              <p className="mt-1 text-xs text-slate-500">
                Compare it with the key your server administrator gives you. DDE refuses to deliver if the key ever changes.
              </p>
            </div>
          ) : null}
        </div>
      ) : null}
      {problem ? (
        <p className="mt-3 text-sm text-red-700" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}
