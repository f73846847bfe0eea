// Folders: one per run with files, its expiry countdown, the whole folder as a zip, each file with its checksum.
// The list is the connection's own (filtered by the server, so paging never hides one), with its
// filters — export type, expired folders shown — kept in the URL.
'use client';
import { useInfiniteQuery, type InfiniteData, type UseInfiniteQueryResult } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, apiUrl } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import { bytes, countdown, dt, num, windowLabel } from '@/components/ui/formatters';
import { Button, Card, ErrorNotice, Field, inputClass, Loading } from '@/components/ui/primitives';
import { buttonClass } from '@/components/ui/button-styles';
import { oneOf, useUrlFilters } from '@/components/ui/url-filters';
import type { Answer } from '@/lib/http/schemas';
import type { folderListResponseSchema } from '@/lib/export-api/schemas';

const FILTERS = { export_type: oneOf(['incremental', 'historical']), expired: oneOf(['shown']) };

function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function Folders({ program, connection, canDownload }: { program: number; connection: Connection; canDownload: boolean }) {
  const now = useNow();
  const [filters, setFilters] = useUrlFilters(FILTERS);
  const query = {
    connection: connection.id,
    export_type: filters.export_type,
    include_expired: filters.expired === 'shown' ? 'true' : '',
  };
  const q = useInfiniteQuery({
    queryKey: ['folders', program, query],
    queryFn: ({ pageParam }) =>
      api<Answer<typeof folderListResponseSchema>>('/api/v1/folders', program, {
        query: { ...query, limit: 50, cursor: pageParam },
      }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: 20_000,
  });
  const filtered = Boolean(filters.export_type || filters.expired);

  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        Every run’s files stay available here until they expire. Download a whole folder as a zip (files, their{' '}
        <span className="font-mono">.sha256</span> sidecars and the manifest) or single files; compare the SHA-256 checksum after
        downloading.
      </p>
      <div
        className="flex flex-col gap-3 rounded-xl border border-slate-200 bg-white px-4 py-3 shadow-xs sm:flex-row sm:items-end"
        role="search"
        aria-label="Filter folders"
      >
        <Field label="Export type" className="sm:w-56">
          {(p) => (
            <select {...p} className={inputClass} value={filters.export_type} onChange={(e) => setFilters({ export_type: e.target.value })}>
              <option value="">Any</option>
              <option value="incremental">Automated</option>
              <option value="historical">Historical</option>
            </select>
          )}
        </Field>
        <label className="flex items-center gap-2 text-sm text-slate-800 sm:pb-2">
          <input
            type="checkbox"
            className="size-4 accent-brand-600"
            checked={filters.expired === 'shown'}
            onChange={(e) => setFilters({ expired: e.target.checked ? 'shown' : '' })}
          />
          Show expired folders
        </label>
      </div>
      <FolderList q={q} program={program} canDownload={canDownload} now={now} filtered={filtered} />
    </div>
  );
}

function FolderList({
  q,
  program,
  canDownload,
  now,
  filtered,
}: {
  q: UseInfiniteQueryResult<InfiniteData<Answer<typeof folderListResponseSchema>>>;
  program: number;
  canDownload: boolean;
  now: number;
  filtered: boolean;
}) {
  if (q.isPending) return <Loading label="Loading folders…" />;
  if (q.isError) return <ErrorNotice title="The folders could not be loaded" error={q.error} onRetry={() => void q.refetch()} />;
  const folders = q.data.pages.flatMap((p) => p.data);
  return (
    <>
      {folders.length === 0 ? (
        <p className="rounded-xl border border-dashed border-slate-300 bg-white px-4 py-10 text-center text-sm text-slate-600">
          {filtered ? 'No folders match these filters.' : 'No folders yet. Each run that produces files adds a folder here.'}
        </p>
      ) : (
        folders.map((f, index) => (
          <Card
            key={f.run_id}
            title={
              <span className="flex flex-wrap items-center gap-2">
                <span className="font-mono text-xs break-all sm:text-sm">{f.name}</span>
                <span className="rounded bg-slate-100 px-1.5 py-px text-[11px] font-medium text-slate-600">
                  {f.export_type === 'historical' ? 'Historical' : 'Automated'}
                </span>
              </span>
            }
            actions={
              canDownload && !f.expired ? (
                <a
                  href={apiUrl(`/api/v1/folders/${f.run_id}/archive`, program)}
                  className={buttonClass('secondary', 'sm')}
                  download
                  data-testid="download-zip"
                >
                  Download all (.zip)
                </a>
              ) : undefined
            }
          >
            <div data-testid="folder">
              <p className="text-xs text-slate-600">
                {windowLabel(f.window_start, f.window_end)} · {f.file_count} files · {num(f.total_rows)} rows · {bytes(f.total_bytes)} ·{' '}
                <span
                  className={f.expired ? 'font-medium text-red-700' : 'font-medium text-amber-800'}
                  title={dt(f.expires_at)}
                  data-testid="expiry"
                >
                  {countdown(f.expires_at, now)}
                </span>
              </p>
              <details className="group mt-3" open={index === 0}>
                <summary className="cursor-pointer text-xs font-medium text-brand-700 hover:underline">
                  {f.file_count} files, each with its SHA-256 checksum
                </summary>
                <ul className="mt-2 divide-y divide-slate-100 rounded-lg border border-slate-200">
                  {f.files.map((file) => (
                    <li key={file.id} className="flex flex-col gap-2 px-3 py-2.5 sm:flex-row sm:items-center sm:justify-between">
                      <div className="min-w-0">
                        <p className="font-mono text-xs break-all text-slate-900">{file.name}</p>
                        <p className="mt-0.5 text-[11px] text-slate-500">
                          {num(file.rows)} rows · {bytes(file.bytes)}
                        </p>
                        <p className="mt-0.5 font-mono text-[11px] break-all text-slate-500" data-testid="checksum">
                          SHA-256 {file.sha256}
                        </p>
                      </div>
                      {canDownload && file.download_url && !file.expired ? (
                        <a href={file.download_url} className={buttonClass('ghost', 'sm')} download aria-label={`Download ${file.name}`}>
                          Download
                        </a>
                      ) : file.expired ? (
                        <span className="text-xs text-slate-500">Expired</span>
                      ) : null}
                    </li>
                  ))}
                </ul>
              </details>
            </div>
          </Card>
        ))
      )}
      {q.hasNextPage ? (
        <div className="flex justify-center">
          <Button onClick={() => void q.fetchNextPage()} busy={q.isFetchingNextPage}>
            Load older folders
          </Button>
        </div>
      ) : null}
    </>
  );
}
