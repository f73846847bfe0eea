// /docs/api: the Export API guide — tokens, the latest file, paging, downloads, folder zips — with
// copy-paste curl examples, a reference table built from the same route list as the OpenAPI document,
// and the interactive reference of every route rendered from /api/v1/openapi.json.
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { InteractiveApiReference } from '@/components/docs/api-reference';
import { LogoMark } from '@/components/ui/icons';
import { CLIENT_TOKEN_TTL_SECONDS } from '@/lib/auth/api-clients';
import { env } from '@/lib/env';
import { EXPORT_API_OPERATIONS } from '@/lib/export-api/operations';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '@/lib/export-api/schemas';
import { forwardedOrigin } from '@/lib/http/origin';

export const metadata: Metadata = { title: 'Export API' };

/** The origin the reader used (the examples name it); without a forwarded protocol, NEXTAUTH_URL's. */
async function origin(): Promise<string> {
  const configured = new URL(env().nextAuthUrl).protocol === 'https:' ? 'https' : 'http';
  return forwardedOrigin(await headers(), configured) ?? 'https://dde.example.com';
}

function Code({ children }: { children: string }) {
  return (
    <pre className="mt-3 overflow-x-auto rounded-lg bg-slate-900 p-4 font-mono text-[13px] leading-6 text-slate-100">
      <code>{children}</code>
    </pre>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section id={id} className="scroll-mt-8 border-t border-slate-200 pt-8">
      <h2 className="text-lg font-semibold tracking-tight text-slate-900">{title}</h2>
      <div className="mt-3 space-y-3 text-sm leading-6 text-slate-700">{children}</div>
    </section>
  );
}

const C = ({ children }: { children: ReactNode }) => (
  <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-[13px] text-slate-800">{children}</code>
);

const METHOD_STYLE: Record<string, string> = {
  get: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20',
  post: 'bg-sky-50 text-sky-700 ring-sky-600/20',
  delete: 'bg-rose-50 text-rose-700 ring-rose-600/20',
  head: 'bg-slate-50 text-slate-700 ring-slate-600/20',
};

export default async function ApiDocsPage() {
  const base = await origin();
  const sections = [
    ['pull', 'The quickest way: dde pull'],
    ['tokens', 'Get a token'],
    ['latest', 'The latest file'],
    ['list', 'List and page through files'],
    ['download', 'Download a file'],
    ['folders', 'Folders as zips'],
    ['errors', 'Errors and limits'],
    ['reference', 'Reference'],
    ['try-it', 'Interactive reference'],
  ];

  return (
    <>
      <div className="mx-auto max-w-4xl px-5 pt-10 sm:px-8">
        <header className="flex items-center gap-3">
          <LogoMark className="size-8" />
          <span className="text-sm font-semibold text-slate-900">Direct Data Export</span>
        </header>
        <h1 className="mt-8 text-3xl font-semibold tracking-tight text-slate-900">Export API</h1>
        <p className="mt-3 max-w-2xl text-sm leading-6 text-slate-600">
          Pull your program’s export files — <C>user</C>, <C>campaign</C> and <C>activity</C> (the plurals <C>users</C>, <C>campaigns</C>,{' '}
          <C>activities</C> work too) — into your own pipelines. Each API connection is its own feed: every answer is about one API
          connection’s files, in the program of your token. The machine-readable description is at{' '}
          <a className="font-medium text-brand-700 underline underline-offset-2" href="/api/v1/openapi.json">
            /api/v1/openapi.json
          </a>{' '}
          (OpenAPI 3.1).
        </p>
        <nav aria-label="On this page" className="mt-6 flex flex-wrap gap-2">
          {sections.map(([id, title]) => (
            <a
              key={id}
              href={`#${id}`}
              className="rounded-full bg-white px-3 py-1 text-xs font-medium text-slate-700 ring-1 ring-slate-200 hover:bg-slate-100"
            >
              {title}
            </a>
          ))}
        </nav>

        <div className="mt-10 space-y-10">
          <Section id="pull" title="The quickest way: dde pull">
            <p>
              <C>dde pull</C> is the reference client of this API: it needs HTTP access only (no database) and does what every puller must —
              gets a token, walks the connection’s folders from the state it saves in the output folder, downloads each file once under a
              temporary name, checks its SHA-256 and the manifest’s Ed25519 signature against <C>/api/v1/signing-keys</C>, renames the files
              into place (the manifest last) and saves its state only then. It waits as the server asks (<C>Retry-After</C>,{' '}
              <C>RateLimit-Reset</C>), shows its progress, can be stopped and run again at any time, and exits non-zero naming the file it
              could not verify. <C>dde verify</C> then proves the folder complete: every signature, file and row, and no window of the
              sequence missing or there twice.
            </p>
            <Code>{`npx dde pull --url ${base} --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \\
  --connection CONNECTION_ID --out ./dde-files [--type activity] [--since 2026-11-01T00:00:00Z]
npx dde verify ./dde-files --keys ${base}/api/v1/signing-keys`}</Code>
            <p>
              Every window has a manifest, an empty one too (<C>{`"rows": 0, "files": []`}</C>), numbered in the connection’s{' '}
              <C>sequence</C> (1, 2, 3 …): a missing number is a missing window, never an empty one.
            </p>
          </Section>

          <Section id="tokens" title="1. Get a token">
            <p>
              A Firstup Super Admin creates an <strong>API client</strong> for your program’s API connection on the{' '}
              <Link href="/configure/insights/recurring-data-connections/api-access" className="font-medium text-brand-700 underline">
                API access
              </Link>{' '}
              page (or with <C>npx dde clients create --program ID --name NAME --connection CONNECTION_ID</C>; the connection may be left
              out when the program has exactly one) and gives you its client id and secret, shown once. The client reads that connection’s
              files only — its files, folders, zips and download links — and nothing else: every other route, the management API included,
              answers it 404. Trade them for an access token, valid for {CLIENT_TOKEN_TTL_SECONDS / 60} minutes (OAuth 2.0 client
              credentials; HTTP Basic or <C>client_id</C>/<C>client_secret</C> form fields):
            </p>
            <Code>{`export DDE=${base}
TOKEN=$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" \\
  -d grant_type=client_credentials -d scope=data_exports.read \\
  "$DDE/api/oauth/token" | jq -r .access_token)`}</Code>
            <p>
              The answer is{' '}
              <C>{`{"access_token": "dde_…", "token_type": "Bearer", "expires_in": ${CLIENT_TOKEN_TTL_SECONDS}, "scope": "data_exports.read"}`}</C>
              . Token-endpoint errors use the OAuth shape, e.g. <C>{`{"error": "invalid_client", "error_description": "…"}`}</C> with status
              401.
            </p>
            <p>
              Signed-in users can instead create a <strong>personal access token</strong> that acts with their own access (
              <C>POST /api/v1/tokens</C>, or <C>npx dde tokens create --email you@example.com</C>). Tokens are shown once, stored hashed,
              and can be revoked at any time. A token never has more than its owner&rsquo;s role: a Brand Super Admin&rsquo;s tokens read
              exports (<C>data_exports.read</C>). Send either kind as <C>Authorization: Bearer $TOKEN</C>. Scope <C>data_exports.read</C> is
              enough for everything on this page; the management API (connections, runs, webhooks) takes a personal access token.
            </p>
          </Section>

          <Section id="latest" title="2. The latest file">
            <Code>{`curl -fsS -H "Authorization: Bearer $TOKEN" "$DDE/api/v1/data_exports/activity/latest"`}</Code>
            <Code>{`{
  "data": {
    "id": "5b0c…", "connection_id": "0f6e…", "name": "4021-11-28-2026-08-activity-incremental.gz",
    "type": "activities", "file_type": "activity", "export_type": "incremental",
    "window_start": "2026-11-28T08:00:00.000Z", "window_end": "2026-11-28T12:00:00.000Z",
    "rows": 183211, "bytes": 4810022, "sha256": "9f2c…", "format": "csv", "compression": "gzip",
    "created_at": "…", "expires_at": "…",
    "download_url": "${base}/api/v1/downloads/5b0c….4021.1795…",
    "download_url_expires_at": "…", "presigned_url_ttl_seconds": 900
  },
  "window": { "start": "2026-11-28T08:00:00.000Z", "end": "2026-11-28T12:00:00.000Z", "status": "available" }
}`}</Code>
            <p>
              <C>latest</C> is always the connection’s newest <em>closed</em> window, never an older one’s file. If there was no activity to
              capture in that window, the answer is the empty payload:
            </p>
            <Code>{`{"data": null, "window": {"start": "2026-11-28T08:00:00.000Z", "end": "2026-11-28T12:00:00.000Z", "status": "empty"}}`}</Code>
            <p>
              While the window is still being exported, <C>window.status</C> is <C>pending</C>: ask again in a few minutes. Send the{' '}
              <C>ETag</C> of the last answer as <C>If-None-Match</C> to poll cheaply: 304 while nothing changed. Add{' '}
              <C>?export_type=historical</C> for the connection’s newest historical file. Personal tokens and accounts that read several API
              connections add <C>?connection=CONNECTION_ID</C> (the 422 answer lists them), and those that reach several programs{' '}
              <C>?program=ID</C>:
            </p>
            <Code>{`curl -fsS -H "Authorization: Bearer $TOKEN" "$DDE/api/v1/data_exports/user/latest?program=4021&connection=$CONNECTION_ID"`}</Code>
          </Section>

          <Section id="list" title="3. List and page through files">
            <p>
              Files come newest first, {DEFAULT_PAGE_SIZE} per page (up to <C>limit={MAX_PAGE_SIZE}</C>). Pass <C>next_cursor</C> back as{' '}
              <C>cursor</C> until it is <C>null</C>. Files created while you page are newer than your cursor, so a walk never repeats or
              skips a file. A connection’s historical backfills are in its feed too: filter with <C>export_type=historical</C> (or{' '}
              <C>incremental</C>), and with <C>since</C> / <C>until</C> (creation time, ISO 8601). Files of SFTP connections are in no feed
              (see Folders).
            </p>
            <Code>{`cursor=""
while :; do
  page=$(curl -fsS -H "Authorization: Bearer $TOKEN" \\
    "$DDE/api/v1/data_exports/user?limit=500&since=2026-11-01T00:00:00Z\${cursor:+&cursor=$cursor}")
  echo "$page" | jq -r '.data[] | [.id, .name, .sha256] | @tsv'
  cursor=$(echo "$page" | jq -r '.next_cursor // empty')
  [ -z "$cursor" ] && break
done`}</Code>
            <p>
              One file by id: <C>GET /api/v1/data_exports/user/FILE_ID</C> — the same metadata with a fresh link, or 410 once the file has
              expired.
            </p>
          </Section>

          <Section id="download" title="4. Download a file">
            <p>
              A <C>download_url</C> needs no token: the link itself is signed and works for <C>presigned_url_ttl_seconds</C> (900 s by
              default). After that it answers 403 — ask for the file again for a fresh link. The <C>ETag</C> is the file’s SHA-256, and
              ranges are supported, so an interrupted download resumes.
            </p>
            <Code>{`meta=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$DDE/api/v1/data_exports/campaign/latest")
name=$(echo "$meta" | jq -r .data.name)
curl -fsS -o "$name" "$(echo "$meta" | jq -r .data.download_url)"
echo "$(echo "$meta" | jq -r .data.sha256)  $name" | sha256sum -c -

# resume an interrupted download (Range)
curl -fsS -C - -o "$name" "$(echo "$meta" | jq -r .data.download_url)"`}</Code>
            <p>
              Files stay available for 7 days (configurable); then their bytes are deleted and the API answers 410 with when they expired.
            </p>
          </Section>

          <Section id="folders" title="5. Folders as zips">
            <p>
              Each export run is a folder: its window, export type, files with sizes and checksums. Download a whole folder — data files,
              their <C>.sha256</C> sidecars and the manifest — as one zip:
            </p>
            <Code>{`curl -fsS -H "Authorization: Bearer $TOKEN" "$DDE/api/v1/folders?connection=$CONNECTION_ID&limit=10" | jq '.data[] | {run_id, name, total_bytes}'

# The newest folder of that connection (without ?connection=, the newest of any connection you can read).
RUN_ID=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$DDE/api/v1/folders?connection=$CONNECTION_ID&limit=1" | jq -r '.data[0].run_id')
curl -fsS -H "Authorization: Bearer $TOKEN" -o folder.zip "$DDE/api/v1/folders/$RUN_ID/archive"
unzip folder.zip -d folder && (cd folder && sha256sum -c *.sha256)`}</Code>
          </Section>

          <Section id="errors" title="6. Errors and limits">
            <p>
              Every error has one shape: <C>{`{"error": {"code": "…", "message": "…", "details": …}, "request_id": "…"}`}</C>. Quote the
              request id when you report a problem.
            </p>
            <div className="overflow-x-auto rounded-lg ring-1 ring-slate-200">
              <table className="min-w-full divide-y divide-slate-200 bg-white text-left text-sm">
                <thead className="bg-slate-50 text-xs font-medium text-slate-500 uppercase">
                  <tr>
                    <th className="px-4 py-2">Status</th>
                    <th className="px-4 py-2">Meaning</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {[
                    ['401', 'No token, a malformed header, or an unknown, expired or revoked token.'],
                    ['403', 'The token lacks the scope (or the account the permission); or a download link expired or was altered.'],
                    ['404', 'Nothing with that id in your program — files of other programs are not found either.'],
                    ['410', 'The file has expired; details.expired_at says when.'],
                    ['416', 'A Range outside the file.'],
                    [
                      '422',
                      'Invalid parameters; details.fields names each one. A caller that reads several API connections and names none: details.connections lists them.',
                    ],
                    [
                      '429',
                      'Over the request budget (600 requests a minute per API client or account by default); wait Retry-After seconds. Every answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.',
                    ],
                  ].map(([status, meaning]) => (
                    <tr key={status}>
                      <td className="px-4 py-2 font-mono text-slate-900">{status}</td>
                      <td className="px-4 py-2 text-slate-700">{meaning}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>

          <Section id="reference" title="7. Reference">
            <div className="overflow-x-auto rounded-lg ring-1 ring-slate-200">
              <table className="min-w-full divide-y divide-slate-200 bg-white text-left text-sm">
                <thead className="bg-slate-50 text-xs font-medium text-slate-500 uppercase">
                  <tr>
                    <th className="px-4 py-2">Route</th>
                    <th className="px-4 py-2">What it does</th>
                    <th className="px-4 py-2">Needs</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {EXPORT_API_OPERATIONS.map((op) => (
                    <tr key={`${op.method} ${op.path}`}>
                      <td className="px-4 py-2 whitespace-nowrap">
                        <span
                          className={`mr-2 inline-block rounded px-1.5 py-0.5 font-mono text-[11px] font-semibold uppercase ring-1 ring-inset ${METHOD_STYLE[op.method]}`}
                        >
                          {op.method}
                        </span>
                        <span className="font-mono text-[13px] text-slate-900">{op.path}</span>
                      </td>
                      <td className="px-4 py-2 text-slate-700">{op.summary}</td>
                      <td className="px-4 py-2 text-xs whitespace-nowrap text-slate-500">
                        {op.scope ??
                          (op.permission
                            ? op.permission
                            : op.security.length === 0
                              ? 'signed link'
                              : op.security.includes('client_basic')
                                ? 'client id + secret'
                                : 'signed in')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
        </div>
      </div>
      <section id="try-it" aria-labelledby="try-it-heading" className="mt-10 scroll-mt-8 pb-10">
        <div className="mx-auto max-w-4xl border-t border-slate-200 px-5 pt-8 sm:px-8">
          <h2 id="try-it-heading" className="text-lg font-semibold tracking-tight text-slate-900">
            8. Interactive reference
          </h2>
          <p className="mt-3 text-sm leading-6 text-slate-700">
            Every route of the export API and of the management API the admin pages use, read from <C>/api/v1/openapi.json</C>: parameters,
            request bodies, answers and their schemas. <strong>Test Request</strong> sends the call to this server; paste a token under
            Authentication first.
          </p>
        </div>
        <div className="mx-auto mt-4 max-w-6xl sm:px-4">
          <InteractiveApiReference />
        </div>
      </section>
    </>
  );
}
