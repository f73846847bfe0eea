'use client';
// The signed-in frame: sidebar navigation (a drawer below 1024 px), top bar with breadcrumb,
// program switcher, role badge and account menu, and the page itself.
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ActivityIcon, CloseIcon, ConnectionsIcon, KeyIcon, LogoMark, MenuIcon } from '@/components/ui/icons';
import { RoleBadge } from '@/components/ui/role-badge';
import type { Role } from '@/db/schema/auth';
import { activeHref, type NavLink, type NavSection } from './nav';
import { ProgramSwitcher, type ProgramOption } from './program-switcher';
import { UserMenu } from './user-menu';

export type ShellUser = { email: string; name: string | null; role: Role; roleLabel: string };

const ICONS: Record<NavLink['icon'], typeof ConnectionsIcon> = { connections: ConnectionsIcon, key: KeyIcon, activity: ActivityIcon };

function Brand() {
  return (
    <Link href="/" className="flex items-center gap-2.5 rounded-md">
      <LogoMark className="size-8" />
      <span className="leading-tight">
        <span className="block text-sm font-semibold text-slate-900">Direct Data Export</span>
        <span className="block text-xs text-slate-500">Firstup Insights</span>
      </span>
    </Link>
  );
}

function NavTree({ nav, pathname, onNavigate }: { nav: NavSection[]; pathname: string; onNavigate?: () => void }) {
  const current = activeHref(nav, pathname);
  return (
    <nav aria-label="Main" className="flex-1 space-y-6 overflow-y-auto px-3 py-5">
      {nav.map((section) => (
        <div key={section.label}>
          <p className="px-3 text-xs font-semibold tracking-wider text-slate-500 uppercase">{section.label}</p>
          <div className="mt-2 space-y-3">
            {section.groups.map((group, gi) => (
              <div key={group.label || gi}>
                {group.label ? <p className="px-3 pb-1.5 text-xs font-medium text-slate-500">{group.label}</p> : null}
                <ul className={group.label ? 'ml-3 space-y-0.5 border-l border-slate-200 pl-2' : 'space-y-0.5'}>
                  {group.links.map((link) => {
                    const active = link.href === current;
                    const Icon = ICONS[link.icon];
                    return (
                      <li key={link.href}>
                        <Link
                          href={link.href}
                          onClick={onNavigate}
                          aria-current={active ? 'page' : undefined}
                          className={`group flex items-center gap-2.5 rounded-lg px-3 py-2 text-sm font-medium transition ${
                            active ? 'bg-brand-50 text-brand-700' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900'
                          }`}
                        >
                          <Icon
                            className={`size-4.5 shrink-0 ${active ? 'text-brand-600' : 'text-slate-400 group-hover:text-slate-500'}`}
                          />
                          <span className="truncate">{link.label}</span>
                        </Link>
                      </li>
                    );
                  })}
                </ul>
              </div>
            ))}
          </div>
        </div>
      ))}
    </nav>
  );
}

export function ShellFrame({
  user,
  nav,
  programs,
  currentProgramId,
  version,
  children,
}: {
  user: ShellUser;
  nav: NavSection[];
  programs: ProgramOption[];
  currentProgramId: number | null;
  version: string;
  children: ReactNode;
}) {
  const pathname = usePathname() ?? '';
  const [navOpen, setNavOpen] = useState(false);
  const openButton = useRef<HTMLButtonElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  // Focus moves into the drawer when it opens and back to the menu button when it closes.
  useEffect(() => {
    if (navOpen) closeButton.current?.focus();
    else if (wasOpen.current) openButton.current?.focus();
    wasOpen.current = navOpen;
  }, [navOpen]);

  useEffect(() => {
    if (!navOpen) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setNavOpen(false);
    document.addEventListener('keydown', onKey);
    document.body.style.overflow = 'hidden';
    return () => {
      document.removeEventListener('keydown', onKey);
      document.body.style.overflow = '';
    };
  }, [navOpen]);

  const footer = <p className="border-t border-slate-200 px-6 py-4 text-xs text-slate-400">DDE v{version}</p>;

  return (
    <div className="min-h-dvh">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm font-medium text-brand-700 shadow focus:not-sr-only focus:fixed focus:top-3 focus:left-3"
      >
        Skip to content
      </a>

      {/* Sidebar, always visible from 1024 px. */}
      <aside className="fixed inset-y-0 left-0 z-30 hidden w-72 flex-col border-r border-slate-200 bg-white lg:flex">
        <div className="flex h-16 items-center border-b border-slate-200 px-5">
          <Brand />
        </div>
        <NavTree nav={nav} pathname={pathname} />
        {footer}
      </aside>

      {/* Drawer below 1024 px. */}
      {navOpen ? (
        <div className="fixed inset-0 z-40 lg:hidden" role="dialog" aria-modal="true" aria-label="Navigation">
          <button
            type="button"
            tabIndex={-1}
            aria-hidden
            className="absolute inset-0 cursor-default bg-slate-900/40 backdrop-blur-[1px]"
            onClick={() => setNavOpen(false)}
          />
          <div id="mobile-nav" className="absolute inset-y-0 left-0 flex w-72 max-w-[85vw] flex-col bg-white shadow-xl">
            <div className="flex h-16 items-center justify-between border-b border-slate-200 px-5">
              <Brand />
              <button
                ref={closeButton}
                type="button"
                onClick={() => setNavOpen(false)}
                className="-mr-2 rounded-md p-2 text-slate-500 hover:bg-slate-100"
                aria-label="Close navigation"
              >
                <CloseIcon className="size-5" />
              </button>
            </div>
            <NavTree nav={nav} pathname={pathname} onNavigate={() => setNavOpen(false)} />
            {footer}
          </div>
        </div>
      ) : null}

      <div className="lg:pl-72">
        <header className="sticky top-0 z-20 border-b border-slate-200 bg-white/95 backdrop-blur supports-[backdrop-filter]:bg-white/80">
          <div className="flex h-16 items-center gap-3 px-4 sm:px-6 lg:px-8">
            <button
              ref={openButton}
              type="button"
              onClick={() => setNavOpen(true)}
              aria-label="Open navigation"
              aria-expanded={navOpen}
              aria-controls="mobile-nav"
              className="-ml-1.5 rounded-md p-2 text-slate-600 hover:bg-slate-100 lg:hidden"
            >
              <MenuIcon className="size-5" />
            </button>
            <div className="flex min-w-0 items-center gap-2 lg:hidden">
              <LogoMark className="size-7 shrink-0" />
              <span className="truncate text-sm font-semibold text-slate-900">DDE</span>
            </div>
            <ProgramSwitcher programs={programs} currentId={currentProgramId} className="hidden md:block" />
            <div className="ml-auto flex items-center gap-2 sm:gap-3">
              <RoleBadge role={user.role} />
              <UserMenu email={user.email} name={user.name} roleLabel={user.roleLabel} />
            </div>
          </div>
          <div className="border-t border-slate-100 px-4 py-2.5 sm:px-6 md:hidden">
            <ProgramSwitcher programs={programs} currentId={currentProgramId} />
          </div>
        </header>
        <main id="main" className="mx-auto w-full max-w-6xl px-4 py-8 sm:px-6 lg:px-8">
          {children}
        </main>
      </div>
    </div>
  );
}
