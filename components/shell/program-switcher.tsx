'use client';
// Chooses the program every page shows. The choice is a cookie the server re-checks on each request.
import { useRouter } from 'next/navigation';
import { useId, useState, useTransition } from 'react';
import { ChevronDownIcon, ProgramIcon } from '@/components/ui/icons';

export type ProgramOption = { id: number; name: string };

export function ProgramSwitcher({
  programs,
  currentId,
  className = '',
}: {
  programs: ProgramOption[];
  currentId: number | null;
  className?: string;
}) {
  const id = useId();
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState(currentId);

  if (programs.length === 0) {
    return (
      <p className={`text-sm text-slate-500 ${className}`} data-testid="program-switcher-empty">
        No programs
      </p>
    );
  }

  async function choose(value: string) {
    const programId = Number(value);
    setSelected(programId);
    setError(null);
    const res = await fetch('/api/session/program', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ program_id: programId }),
    });
    if (!res.ok) {
      setSelected(currentId);
      setError('Could not switch program. Reload the page and try again.');
      return;
    }
    startTransition(() => router.refresh());
  }

  return (
    <div className={className}>
      <label htmlFor={id} className="sr-only">
        Program
      </label>
      <div className="relative">
        <ProgramIcon className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-slate-400" />
        <select
          id={id}
          data-testid="program-switcher"
          value={selected ?? ''}
          onChange={(e) => void choose(e.target.value)}
          disabled={pending}
          aria-describedby={error ? `${id}-error` : undefined}
          className="h-9 w-full min-w-0 appearance-none truncate rounded-lg border border-slate-300 bg-white pr-9 pl-9 text-sm font-medium text-slate-800 shadow-xs transition hover:border-slate-400 focus-visible:border-brand-600 disabled:opacity-60 sm:w-72"
        >
          {programs.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name} · {p.id}
            </option>
          ))}
        </select>
        <ChevronDownIcon className="pointer-events-none absolute top-1/2 right-3 size-4 -translate-y-1/2 text-slate-500" />
      </div>
      {error ? (
        <p id={`${id}-error`} role="alert" className="mt-1 text-xs text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}
