// Replace OpenPGP key (a stopped SFTP connection): the customer's renewed or new public key, read
// and confirmed by its fingerprint as at set-up, then saved; the server checks it again. A
// connection delivered unencrypted so far gets its first key the same way (Encrypt with OpenPGP).
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError } from '@/components/api/client';
import { dateStr } from '@/components/ui/formatters';
import { Button, Dialog, ErrorNotice, Notice } from '@/components/ui/primitives';
import type { Connection } from '@/lib/management/responses';
import { checkPgpKey, NO_PGP_KEY, PgpKeyField, pgpKeyBody, type PgpKeyChoice } from './pgp-key-field';
import { refreshConnection } from './queries';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse } from '@/lib/management/responses';

export function ReplacePgpKeyDialog({
  program,
  connection,
  open,
  onClose,
}: {
  program: number;
  connection: Connection;
  open: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const current = connection.sftp?.pgp_key ?? null;
  const [choice, setChoice] = useState<PgpKeyChoice>(NO_PGP_KEY);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const save = useMutation({
    mutationFn: () =>
      api<Answer<typeof connectionResponse>>(`/api/v1/connections/${connection.id}/pgp-key`, program, {
        method: 'POST',
        body: pgpKeyBody(choice),
      }),
    onSuccess: async () => {
      await refreshConnection(qc, program, connection.id);
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  const close = () => {
    setChoice(NO_PGP_KEY);
    setErrors({});
    save.reset();
    onClose();
  };

  function submit() {
    const e = choice.armored.trim() ? checkPgpKey(choice) : { pgp_public_key: 'Paste the customer’s new OpenPGP public key.' };
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate();
  }

  const done = save.isSuccess;
  const title = current ? 'Replace OpenPGP key' : 'Encrypt with OpenPGP';
  return (
    <Dialog
      open={open}
      title={done ? (current ? 'OpenPGP key replaced' : 'OpenPGP key saved') : title}
      onClose={close}
      footer={
        done ? (
          <Button variant="primary" onClick={close}>
            Close
          </Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button variant="primary" busy={save.isPending} onClick={submit}>
              Save key
            </Button>
          </>
        )
      }
    >
      {done ? (
        <div data-testid="pgp-key-replaced">
          <Notice tone="success" title="The new key is saved">
            Data files are encrypted to OpenPGP key <span className="font-mono break-all">{save.data.data.sftp?.pgp_key?.fingerprint}</span>{' '}
            from the next delivery. The connection is still stopped: start it when you are ready; windows that closed meanwhile are
            delivered then.
          </Notice>
        </div>
      ) : (
        <div className="space-y-4" data-testid="replace-pgp-key">
          {current ? (
            <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1 rounded-lg bg-slate-50 px-3 py-2 text-xs">
              <dt className="text-slate-500">Current key</dt>
              <dd className="font-mono break-all text-slate-900" data-testid="current-pgp-key">
                {current.fingerprint}
              </dd>
              {current.user_ids.length ? (
                <>
                  <dt className="text-slate-500">User IDs</dt>
                  <dd className="break-words text-slate-900">{current.user_ids.join(', ')}</dd>
                </>
              ) : null}
              <dt className="text-slate-500">Expires</dt>
              <dd className="text-slate-900">{current.expires_at ? dateStr(current.expires_at) : 'Never'}</dd>
            </dl>
          ) : (
            <p>The data files of this connection are delivered unencrypted. With a key, they are delivered encrypted to it.</p>
          )}
          <PgpKeyField
            program={program}
            value={choice}
            onChange={(v) => {
              setChoice(v);
              setErrors({});
            }}
            errors={errors}
            replacing
          />
          {save.isError ? <ErrorNotice title="The key was not saved" error={save.error} /> : null}
        </div>
      )}
    </Dialog>
  );
}
