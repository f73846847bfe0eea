'use client';
// The account menu: who is signed in, change password, sign out.
import Link from 'next/link';
import { signOut } from 'next-auth/react';
import { useEffect, useId, useRef, useState } from 'react';
import { ChevronDownIcon, KeyIcon, SignOutIcon } from '@/components/ui/icons';

function initials(name: string | null, email: string): string {
  const source = name?.trim() || email.split('@')[0];
  const parts = source.split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '') + (parts[1]?.[0] ?? '')).toUpperCase() || '?';
}

export function UserMenu({ email, name, roleLabel }: { email: string; name: string | null; roleLabel: string }) {
  const [open, setOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onClick = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  return (
    <div ref={root} className="relative">
      <button
        ref={button}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => setOpen((v) => !v)}
        className="flex items-center gap-2 rounded-full py-1 pr-2 pl-1 text-sm text-slate-700 transition hover:bg-slate-100"
      >
        <span aria-hidden className="flex size-8 items-center justify-center rounded-full bg-slate-800 text-xs font-semibold text-white">
          {initials(name, email)}
        </span>
        <span className="sr-only">Account menu for </span>
        <span className="hidden max-w-48 truncate font-medium xl:inline">{email}</span>
        <span className="sr-only xl:hidden">{email}</span>
        <ChevronDownIcon className="hidden size-4 text-slate-500 sm:block" />
      </button>
      {open ? (
        <div
          id={menuId}
          role="menu"
          aria-label="Account"
          className="absolute right-0 z-40 mt-2 w-72 origin-top-right overflow-hidden rounded-xl border border-slate-200 bg-white shadow-lg ring-1 ring-black/5"
        >
          <div className="border-b border-slate-100 px-4 py-3">
            {name ? <p className="truncate text-sm font-semibold text-slate-900">{name}</p> : null}
            <p className="truncate text-sm text-slate-600" data-testid="signed-in-email">
              {email}
            </p>
            <p className="mt-0.5 text-xs text-slate-500">{roleLabel}</p>
          </div>
          <div className="p-1.5">
            <Link
              role="menuitem"
              href="/account/password"
              onClick={() => setOpen(false)}
              className="flex w-full items-center gap-2.5 rounded-lg px-2.5 py-2 text-sm text-slate-700 hover:bg-slate-50"
            >
              <KeyIcon className="size-4 text-slate-500" />
              Change password
            </Link>
            <button
              role="menuitem"
              type="button"
              disabled={signingOut}
              onClick={() => {
                setSigningOut(true);
                void signOut({ callbackUrl: '/sign-in?signed_out=1' });
              }}
              className="flex w-full items-center gap-2.5 rounded-lg px-2.5 py-2 text-left text-sm text-slate-700 hover:bg-slate-50 disabled:opacity-60"
            >
              <SignOutIcon className="size-4 text-slate-500" />
              {signingOut ? 'Signing out…' : 'Sign out'}
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
