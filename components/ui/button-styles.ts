// Button styles usable from server and client components alike.
export type Variant = 'primary' | 'secondary' | 'danger' | 'ghost' | 'dangerGhost';
const VARIANTS: Record<Variant, string> = {
  primary: 'bg-brand-600 text-white hover:bg-brand-700 shadow-xs',
  secondary: 'bg-white text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 shadow-xs',
  danger: 'bg-red-600 text-white hover:bg-red-700 shadow-xs',
  ghost: 'text-slate-700 hover:bg-slate-100',
  dangerGhost: 'text-red-700 hover:bg-red-50',
};

export function buttonClass(variant: Variant = 'secondary', size: 'sm' | 'md' = 'md'): string {
  const pad = size === 'sm' ? 'px-2.5 py-1.5 text-xs' : 'px-3.5 py-2 text-sm';
  return `inline-flex items-center justify-center gap-1.5 rounded-lg font-semibold transition disabled:cursor-not-allowed disabled:opacity-60 ${pad} ${VARIANTS[variant]}`;
}
