// The signed-in account's role, always visible in the shell.
import type { Role } from '@/db/schema/auth';
import { ROLE_LABELS } from '@/lib/auth/permissions';
import { ShieldIcon } from './icons';

const STYLES: Record<Role, string> = {
  firstup_super_admin: 'bg-brand-50 text-brand-700 ring-brand-600/20',
  brand_super_admin: 'bg-amber-50 text-amber-800 ring-amber-600/25',
};

export function RoleBadge({ role, compact = false }: { role: Role; compact?: boolean }) {
  return (
    <span
      data-testid="role-badge"
      title={role === 'brand_super_admin' ? 'Read-only access to your programs' : 'Read and write access to every program'}
      className={`inline-flex shrink-0 items-center gap-1 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset whitespace-nowrap ${STYLES[role]}`}
    >
      <ShieldIcon className="size-3.5" />
      <span className={compact ? 'sr-only sm:not-sr-only' : undefined}>{ROLE_LABELS[role]}</span>
    </span>
  );
}
