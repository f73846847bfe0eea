// Filters kept in the page's URL query (?tab=history&status=failed&from=2026-11-01), so a reload,
// Back and a shared link show the same filtered list. Each filter says which values it accepts; a
// value in the URL it does not accept (hand-edited, from an older link) is ignored: the filter shows
// its default ("Any"), nothing breaks. Changes replace the current history entry with Next's
// shallow history.replaceState (useSearchParams follows it): no new entry per keystroke, and no
// server round trip for the page.
'use client';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';

/** Whether a URL value is one the filter accepts ('' — the default — is always accepted). */
export type Accepts = (value: string) => boolean;

export const oneOf =
  (values: readonly string[]): Accepts =>
  (v) =>
    values.includes(v);

/** A calendar day, YYYY-MM-DD, that exists (no 2026-02-31), between the years 1970 and 9999. */
export const isoDay: Accepts = (v) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v && d.getUTCFullYear() >= 1970;
};

export type FilterValues<K extends string> = Record<K, string>;

function parse<K extends string>(spec: Record<K, Accepts>, params: URLSearchParams): FilterValues<K> {
  const out = {} as FilterValues<K>;
  for (const key of Object.keys(spec) as K[]) {
    const raw = params.get(key) ?? '';
    out[key] = raw !== '' && spec[key](raw) ? raw : '';
  }
  return out;
}

/**
 * The filters `spec` names, read from the URL, and a setter that writes changes back to it. With
 * `{ only: true }` every other query parameter is dropped (a tab switch leaves the old tab's filters behind).
 */
export function useUrlFilters<K extends string>(
  spec: Record<K, Accepts>,
): [FilterValues<K>, (changes: Partial<FilterValues<K>>, opts?: { only?: boolean }) => void] {
  const searchParams = useSearchParams();
  // Null only outside the App Router (the pages/ API routes never render this).
  const current = searchParams?.toString() ?? '';
  // What was just chosen, until the URL catches up (the history update reaches useSearchParams a
  // render later): a control never flicks back to its old value.
  const [pending, setPending] = useState<{ from: string; values: FilterValues<K> } | null>(null);
  const fromUrl = parse(spec, new URLSearchParams(current));
  const values = pending && pending.from === current ? pending.values : fromUrl;

  const update = (changes: Partial<FilterValues<K>>, opts: { only?: boolean } = {}) => {
    const next = { ...(opts.only ? parse(spec, new URLSearchParams()) : values), ...changes };
    const params = new URLSearchParams(opts.only ? '' : current);
    for (const key of Object.keys(spec) as K[]) {
      if (next[key]) params.set(key, next[key]);
      else params.delete(key);
    }
    setPending({ from: current, values: next });
    const query = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
  };
  return [values, update];
}
