// Breadcrumb, title, one-line purpose and optional actions at the top of a page.
import type { ReactNode } from 'react';
import { ChevronRightIcon } from './icons';

export function PageHeader({
  title,
  description,
  actions,
  breadcrumb = [],
  titleTestId,
}: {
  title: string;
  /** The heading's data-testid (the connection page's title is the connection's name). */
  titleTestId?: string;
  description?: ReactNode;
  actions?: ReactNode;
  breadcrumb?: string[];
}) {
  return (
    <div className="flex flex-col gap-4 border-b border-slate-200 pb-6 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        {breadcrumb.length ? (
          <nav aria-label="Breadcrumb">
            <ol className="flex flex-wrap items-center gap-1 text-xs font-medium text-slate-500">
              {[...breadcrumb, title].map((crumb, i, all) => (
                <li key={crumb} className="flex items-center gap-1">
                  {i > 0 ? <ChevronRightIcon className="size-3 shrink-0 text-slate-400" /> : null}
                  <span
                    className={i === all.length - 1 ? 'text-brand-700' : undefined}
                    aria-current={i === all.length - 1 ? 'page' : undefined}
                  >
                    {crumb}
                  </span>
                </li>
              ))}
            </ol>
          </nav>
        ) : null}
        <h1 className="mt-1.5 text-2xl font-semibold tracking-tight [overflow-wrap:anywhere] text-slate-900" data-testid={titleTestId}>
          {title}
        </h1>
        {description ? <p className="mt-1.5 max-w-2xl text-sm leading-6 text-slate-600">{description}</p> : null}
      </div>
      {actions ? <div className="flex shrink-0 items-center gap-3">{actions}</div> : null}
    </div>
  );
}
