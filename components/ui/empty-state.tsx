// A calm, explanatory empty state: what will appear here and how it gets there.
import type { ReactNode } from 'react';

export function EmptyState({ icon, title, children, action }: { icon: ReactNode; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <div className="flex flex-col items-center rounded-xl border border-dashed border-slate-300 bg-white px-6 py-14 text-center sm:py-20">
      <div className="flex size-12 items-center justify-center rounded-full bg-brand-50 text-2xl text-brand-600 ring-8 ring-brand-50/50">
        {icon}
      </div>
      <h2 className="mt-5 text-base font-semibold text-slate-900">{title}</h2>
      <div className="mt-2 max-w-md text-sm leading-6 text-slate-600">{children}</div>
      {action ? <div className="mt-6">{action}</div> : null}
    </div>
  );
}
