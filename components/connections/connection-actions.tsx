// Pause (after transfer / immediately), Resume, Stop, Start and Delete, each behind a confirmation;
// Edit and, for a stopped connection, Replace credentials (its secret: SFTP's own dialog with the host key,
// replace-secret.tsx for the other kinds) and, for SFTP, Replace OpenPGP key (Encrypt with OpenPGP when it has none).
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { api } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import { CONNECTIONS_PATH } from './paths';
import { connectionName, replaceableSecret } from './describe';
import { ReplaceCredentialsDialog } from './replace-credentials';
import { ReplaceSecretDialog } from './replace-secret';
import { ReplacePgpKeyDialog } from './replace-pgp-key';
import { Button, Dialog, ErrorNotice, inputClass } from '@/components/ui/primitives';
import { refreshConnection } from './queries';

type Action = 'pause' | 'resume' | 'stop' | 'start' | 'delete';

export function ConnectionActions({ program, connection, onEdit }: { program: number; connection: Connection; onEdit: () => void }) {
  const qc = useQueryClient();
  const router = useRouter();
  const [open, setOpen] = useState<Action | null>(null);
  const [mode, setMode] = useState<'after_transfer' | 'immediately'>('after_transfer');
  const [typed, setTyped] = useState('');
  const [rotating, setRotating] = useState(false);
  const [rekeying, setRekeying] = useState(false);
  const name = connectionName(connection);

  const act = useMutation({
    mutationFn: async (a: Action) => {
      if (a === 'delete') return api(`/api/v1/connections/${connection.id}`, program, { method: 'DELETE' });
      return api(`/api/v1/connections/${connection.id}/${a}`, program, { method: 'POST', body: a === 'pause' ? { mode } : {} });
    },
    onSuccess: async (_d, a) => {
      setOpen(null);
      if (a === 'delete') {
        await qc.invalidateQueries({ queryKey: ['connections', program] });
        router.push(CONNECTIONS_PATH);
        return;
      }
      await refreshConnection(qc, program, connection.id);
    },
  });

  const show = (a: Action) => {
    act.reset();
    setTyped('');
    setMode('after_transfer');
    setOpen(a);
  };
  const s = connection.status;
  const deleteOk = typed.trim() === name || typed.trim().toLowerCase() === 'delete';

  const dialogs: Record<
    Action,
    { title: string; body: React.ReactNode; confirm: string; variant: 'primary' | 'danger'; disabled?: boolean }
  > = {
    pause: {
      title: `Pause ${name}?`,
      confirm: 'Pause',
      variant: 'primary',
      body: (
        <fieldset>
          <legend className="mb-2">Windows that fall due while paused are exported when you resume, so nothing is lost.</legend>
          <div className="space-y-3">
            <label className="flex items-start gap-3 rounded-lg border border-slate-200 px-3 py-2.5 has-checked:border-brand-600 has-checked:bg-brand-50/50">
              <input
                type="radio"
                name="pause-mode"
                className="mt-1 size-4 accent-brand-600"
                checked={mode === 'after_transfer'}
                onChange={() => setMode('after_transfer')}
              />
              <span>
                <span className="block font-medium text-slate-900">After Transfer</span>
                <span className="block text-xs text-slate-600">
                  A delivery in progress finishes first; then no new exports start. The connection shows “Pausing” until then.
                </span>
              </span>
            </label>
            <label className="flex items-start gap-3 rounded-lg border border-slate-200 px-3 py-2.5 has-checked:border-brand-600 has-checked:bg-brand-50/50">
              <input
                type="radio"
                name="pause-mode"
                className="mt-1 size-4 accent-brand-600"
                checked={mode === 'immediately'}
                onChange={() => setMode('immediately')}
              />
              <span>
                <span className="block font-medium text-slate-900">Immediately</span>
                <span className="block text-xs text-slate-600">
                  A delivery in progress is stopped now; partial uploads are removed from your server and that window is delivered again
                  when you resume.
                </span>
              </span>
            </label>
          </div>
        </fieldset>
      ),
    },
    resume: {
      title: `Resume ${name}?`,
      confirm: 'Resume',
      variant: 'primary',
      body: <p>Exports start again on schedule, beginning with any windows that fell due while paused.</p>,
    },
    stop: {
      title: `Stop ${name}?`,
      confirm: 'Stop',
      variant: 'danger',
      body: (
        <p>
          No further windows are exported until you start it again. While stopped you can edit its frequency, start date, name and contact
          emails{connection.kind === 'sftp' ? ', and replace its password or private key' : ''}.
        </p>
      ),
    },
    start: {
      title: `Start ${name}?`,
      confirm: 'Start',
      variant: 'primary',
      body: <p>Exports resume on the (possibly edited) schedule. The next window is planned right away.</p>,
    },
    delete: {
      title: `Delete ${name}?`,
      confirm: 'Delete connection',
      variant: 'danger',
      disabled: !deleteOk,
      body: (
        <div className="space-y-3">
          <p>
            No further exports are made. Files already delivered stay on your server; files kept by DDE expire as usual. This cannot be
            undone.
          </p>
          <label className="block">
            <span className="block font-medium text-slate-800">
              Type <span className="font-mono">{name}</span> or <span className="font-mono">delete</span> to confirm
            </span>
            <input className={inputClass} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
          </label>
        </div>
      ),
    },
  };
  const d = open ? dialogs[open] : null;

  return (
    <>
      <div className="flex flex-wrap gap-2" data-testid="connection-actions">
        {s === 'active' ? (
          <Button variant="primary" onClick={() => show('pause')}>
            Pause
          </Button>
        ) : null}
        {s === 'paused' || s === 'pausing' ? (
          <Button variant="primary" onClick={() => show('resume')}>
            Resume
          </Button>
        ) : null}
        {s === 'active' || s === 'paused' || s === 'pausing' ? <Button onClick={() => show('stop')}>Stop</Button> : null}
        {s === 'stopped' ? (
          <>
            <Button variant="primary" onClick={() => show('start')}>
              Start
            </Button>
            <Button onClick={onEdit}>Edit</Button>
            {connection.kind !== 'sftp' && replaceableSecret(connection) ? (
              <Button onClick={() => setRotating(true)}>Replace credentials</Button>
            ) : null}
            {connection.kind === 'sftp' ? (
              <>
                <Button onClick={() => setRotating(true)}>Replace credentials</Button>
                <Button onClick={() => setRekeying(true)}>
                  {connection.sftp?.pgp_key ? 'Replace OpenPGP key' : 'Encrypt with OpenPGP'}
                </Button>
              </>
            ) : null}
          </>
        ) : null}
        <Button variant="dangerGhost" onClick={() => show('delete')}>
          Delete
        </Button>
      </div>
      <Dialog
        open={open !== null}
        title={d?.title ?? ''}
        onClose={() => setOpen(null)}
        footer={
          d ? (
            <>
              <Button onClick={() => setOpen(null)}>Cancel</Button>
              <Button variant={d.variant} disabled={d.disabled} busy={act.isPending} onClick={() => open && act.mutate(open)}>
                {d.confirm}
              </Button>
            </>
          ) : null
        }
      >
        {d?.body}
        {act.isError ? (
          <div className="mt-3">
            <ErrorNotice title="That did not work" error={act.error} />
          </div>
        ) : null}
      </Dialog>
      {connection.kind === 'sftp' && connection.sftp ? (
        <>
          <ReplaceCredentialsDialog program={program} connection={connection} open={rotating} onClose={() => setRotating(false)} />
          <ReplacePgpKeyDialog program={program} connection={connection} open={rekeying} onClose={() => setRekeying(false)} />
        </>
      ) : replaceableSecret(connection) ? (
        <ReplaceSecretDialog program={program} connection={connection} open={rotating} onClose={() => setRotating(false)} />
      ) : null}
    </>
  );
}
