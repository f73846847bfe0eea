// The pages' UI primitives: buttons, status badges, fields, notices, cards, dialogs, drawers, copy buttons.
'use client';
import { useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { RUN_STATUS_WORDS } from '@/lib/runs/vocabulary';
import { buttonClass, type Variant } from './button-styles';

export { buttonClass };

/** A run status's badge: its word from the one vocabulary (lib/runs/vocabulary.ts) in `className`'s colours. */
const run = (status: keyof typeof RUN_STATUS_WORDS, className: string) => ({ label: RUN_STATUS_WORDS[status].label, className });

const STATUS: Record<string, { label: string; className: string }> = {
  active: { label: 'Active', className: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20' },
  pausing: { label: 'Pausing', className: 'bg-amber-50 text-amber-800 ring-amber-600/25' },
  paused: { label: 'Paused', className: 'bg-slate-100 text-slate-700 ring-slate-500/20' },
  stopped: { label: 'Stopped', className: 'bg-red-50 text-red-700 ring-red-600/20' },
  ended: { label: 'Ended', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
  succeeded: { label: 'Delivered', className: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20' },
  delivered: run('delivered', 'bg-emerald-50 text-emerald-700 ring-emerald-600/20'),
  completed: { label: 'Completed', className: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20' },
  generated: run('generated', 'bg-sky-50 text-sky-700 ring-sky-600/20'),
  ok: { label: 'OK', className: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20' },
  failed: run('failed', 'bg-red-50 text-red-700 ring-red-600/20'),
  running: { label: 'Running', className: 'bg-sky-50 text-sky-700 ring-sky-600/20' },
  generating: run('generating', 'bg-sky-50 text-sky-700 ring-sky-600/20'),
  delivering: run('delivering', 'bg-sky-50 text-sky-700 ring-sky-600/20'),
  pending: { label: 'Pending', className: 'bg-slate-100 text-slate-700 ring-slate-500/20' },
  queued: { label: 'Queued', className: 'bg-slate-100 text-slate-700 ring-slate-500/20' },
  planned: run('planned', 'bg-slate-100 text-slate-700 ring-slate-500/20'),
  available: run('available', 'bg-emerald-50 text-emerald-700 ring-emerald-600/20'),
  empty: run('empty', 'bg-slate-100 text-slate-600 ring-slate-500/20'),
  aborted: { label: 'Aborted', className: 'bg-amber-50 text-amber-800 ring-amber-600/25' },
  cancelled: run('cancelled', 'bg-slate-100 text-slate-600 ring-slate-500/20'),
  canceled: { label: 'Cancelled', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
  skipped: { label: 'Skipped', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
  revoked: { label: 'Revoked', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
  expired: { label: 'Expired', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
};

export function humanize(s: string): string {
  const t = s
    .replace(/[_.]/g, ' ')
    .replace(/\bapi\b/gi, 'API')
    .replace(/\bsftp\b/gi, 'SFTP')
    .replace(/\bpgp\b/gi, 'OpenPGP');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** A status's word as the badges show it ("active" → "Active", "empty" → "No new data"). */
export function statusWord(status: string): string {
  return STATUS[status]?.label ?? humanize(status);
}

/** A status in admins' words (any status of a connection, run, delivery, request or token). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const s = STATUS[status] ?? { label: humanize(status), className: 'bg-slate-100 text-slate-700 ring-slate-500/20' };
  return (
    <span
      data-testid="status-badge"
      className={`inline-flex shrink-0 items-center rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${s.className}`}
    >
      {label ?? s.label}
    </span>
  );
}

export function Button({
  variant = 'secondary',
  size = 'md',
  busy,
  children,
  className = '',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: 'sm' | 'md'; busy?: boolean }) {
  return (
    <button
      type="button"
      {...rest}
      disabled={rest.disabled || busy}
      aria-busy={busy || undefined}
      className={`${buttonClass(variant, size)} ${className}`}
    >
      {busy ? <Spinner /> : null}
      {children}
    </button>
  );
}

export function Spinner({ className = 'size-4' }: { className?: string }) {
  return (
    <span aria-hidden className={`inline-block animate-spin rounded-full border-2 border-current border-r-transparent ${className}`} />
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div
      role="status"
      className="flex items-center justify-center gap-2 rounded-xl border border-slate-200 bg-white px-6 py-12 text-sm text-slate-500"
    >
      <Spinner /> {label}
    </div>
  );
}

export function ErrorNotice({ title = 'Something went wrong', error, onRetry }: { title?: string; error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div
      role="alert"
      className="flex flex-col gap-3 rounded-xl border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 sm:flex-row sm:items-center sm:justify-between"
    >
      <div>
        <p className="font-semibold">{title}</p>
        <p className="mt-0.5">{message}</p>
      </div>
      {onRetry ? (
        <Button size="sm" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}

export function Notice({
  tone = 'info',
  title,
  children,
}: {
  tone?: 'info' | 'success' | 'warning';
  title?: ReactNode;
  children?: ReactNode;
}) {
  const cls = {
    info: 'border-sky-200 bg-sky-50 text-sky-900',
    success: 'border-emerald-200 bg-emerald-50 text-emerald-900',
    warning: 'border-amber-200 bg-amber-50 text-amber-900',
  }[tone];
  return (
    <div role={tone === 'success' ? 'status' : undefined} className={`rounded-xl border px-4 py-3 text-sm ${cls}`}>
      {title ? <p className="font-semibold">{title}</p> : null}
      {children ? <div className={title ? 'mt-1' : undefined}>{children}</div> : null}
    </div>
  );
}

export const inputClass =
  'mt-1.5 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-xs hover:border-slate-400 focus-visible:border-brand-600 aria-[invalid=true]:border-red-400 disabled:bg-slate-50 disabled:text-slate-500';

/** A labelled control with its hint and error; the render prop receives the ids to wire up. */
export function Field({
  label,
  hint,
  error,
  optional,
  className = '',
  children,
}: {
  label: string;
  hint?: ReactNode;
  error?: string;
  optional?: boolean;
  className?: string;
  children: (p: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={className}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
        {optional ? <span className="font-normal text-slate-500"> (optional)</span> : null}
      </label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {error ? (
        <p id={`${id}-error`} className="mt-1.5 text-xs text-red-700" data-testid="field-error">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={`${id}-hint`} className="mt-1.5 text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** The first error of a path or of any path below it (contact_emails.0 → contact_emails). */
export function fieldError(errors: Record<string, string>, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const k = Object.keys(errors).find((p) => p.startsWith(`${path}.`));
  return k ? errors[k] : undefined;
}

export function Card({
  title,
  actions,
  children,
  className = '',
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`rounded-xl border border-slate-200 bg-white shadow-xs ${className}`}>
      {title || actions ? (
        <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-100 px-4 py-3 sm:px-5">
          {title ? <h2 className="text-sm font-semibold text-slate-900">{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      <div className="px-4 py-4 sm:px-5">{children}</div>
    </section>
  );
}

/**
 * A native <dialog> shown as a modal while `open`: focus moves in, Escape closes (through onClose),
 * focus returns to the opener. Its content, rendered only while open, gets the id of its title.
 */
function Modal({
  open,
  onClose,
  className,
  children,
}: {
  open: boolean;
  onClose: () => void;
  className: string;
  children: (titleId: string) => ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className={`p-0 text-slate-900 backdrop:bg-slate-900/40 ${className}`}
    >
      {open ? children(titleId) : null}
    </dialog>
  );
}

/** A modal dialog with a footer for its buttons. */
export function Dialog({
  open,
  title,
  onClose,
  children,
  footer,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <Modal open={open} onClose={onClose} className="m-auto w-[calc(100%-2rem)] max-w-lg rounded-2xl bg-white shadow-xl">
      {(titleId) => (
        <div className="flex flex-col">
          <div className="px-5 pt-5">
            <h2 id={titleId} className="text-base font-semibold">
              {title}
            </h2>
          </div>
          <div className="px-5 py-4 text-sm leading-6 text-slate-700">{children}</div>
          {footer ? (
            <div className="flex flex-col-reverse gap-2 border-t border-slate-100 bg-slate-50 px-5 py-3 sm:flex-row sm:justify-end">
              {footer}
            </div>
          ) : null}
        </div>
      )}
    </Modal>
  );
}

/** A side drawer (modal) for details. */
export function Drawer({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  return (
    <Modal open={open} onClose={onClose} className="m-0 ml-auto h-dvh max-h-dvh w-full max-w-xl bg-white shadow-2xl">
      {(titleId) => (
        <div className="flex h-full flex-col">
          <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-5 py-4">
            <h2 id={titleId} className="text-base font-semibold">
              {title}
            </h2>
            <Button variant="ghost" size="sm" onClick={onClose} aria-label="Close">
              Close
            </Button>
          </div>
          <div className="flex-1 overflow-y-auto px-5 py-4 text-sm">{children}</div>
        </div>
      )}
    </Modal>
  );
}

export function DefinitionList({ items }: { items: { term: string; value: ReactNode }[] }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2">
      {items.map((i) => (
        <div key={i.term} className="min-w-0">
          <dt className="text-xs font-medium text-slate-500">{i.term}</dt>
          <dd className="mt-0.5 text-sm break-words text-slate-900">{i.value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Puts `text` on the clipboard: the Clipboard API where the page may use it (https, localhost);
 * otherwise (plain http) a hidden textarea and document.execCommand('copy'). False when both are
 * refused.
 */
async function copyText(text: string, near: HTMLElement): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* refused (permissions, focus): try the selection below */
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.readOnly = true;
  area.setAttribute('aria-hidden', 'true');
  area.className = 'pointer-events-none fixed top-0 left-0 size-px opacity-0';
  // Outside an open modal <dialog> the page is inert and cannot be selected: stay inside it.
  (near.closest('dialog') ?? document.body).appendChild(area);
  area.focus();
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  near.focus();
  return copied;
}

/**
 * A copy button. When the browser refuses every way to copy, the text is shown selected in a dialog
 * with "Press Ctrl+C" — the admin copies it by hand.
 */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'manual'>('idle');
  const manual = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  useEffect(() => {
    if (state !== 'copied') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  useEffect(() => {
    if (state !== 'manual') return;
    manual.current?.focus();
    manual.current?.select();
  }, [state]);
  return (
    <>
      <Button
        size="sm"
        data-copied={state === 'copied' || undefined}
        onClick={(e) => {
          const button = e.currentTarget;
          void copyText(text, button).then((ok) => setState(ok ? 'copied' : 'manual'));
        }}
      >
        {state === 'copied' ? 'Copied' : label}
      </Button>
      <span role="status" className="sr-only">
        {state === 'copied' ? 'Copied to the clipboard.' : ''}
      </span>
      <Dialog
        open={state === 'manual'}
        title="Copy this text"
        onClose={() => setState('idle')}
        footer={<Button onClick={() => setState('idle')}>Close</Button>}
      >
        <p id={hintId}>
          This browser does not let the page copy here. The text is selected: press <kbd className="font-semibold">Ctrl+C</kbd> (
          <kbd className="font-semibold">⌘C</kbd> on a Mac) to copy it.
        </p>
        <textarea
          ref={manual}
          readOnly
          value={text}
          aria-label="Text to copy"
          aria-describedby={hintId}
          onFocus={(e) => e.currentTarget.select()}
          className="mt-3 block max-h-64 min-h-12 w-full resize-none rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs break-all text-slate-900 field-sizing-content"
          data-testid="copy-manually"
        />
      </Dialog>
    </>
  );
}
