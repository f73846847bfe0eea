// dde pull: the reference client of the export API, over HTTP only (no database). Gets a token,
// walks the connection's folders from the state saved in the output folder, downloads each file
// once under a temporary name, checks its sha256 and the manifest's signature, renames it into
// place (data files and sidecars, then the signature, the manifest last) and saves the state only
// after. Honours RateLimit-* and Retry-After; resumable and idempotent.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { keysFromJwks, verifyManifestSignature } from '@/lib/exports/signing';
import { CliError, noPositionals, parseCommand } from './args';

export const summary = 'Download a connection’s export files over the API, verified, resumably';
export const usage = `Usage: dde pull --url URL --client-id ID --client-secret SECRET --connection ID --out DIR
                [--type user|campaign|activity ...] [--since ISO]

Gets a token (POST /api/oauth/token), walks the connection's folders (GET /api/v1/folders) from
the state saved in DIR (.dde-pull.json), and for each window not pulled yet, oldest first:
downloads every file once under a temporary name, checks its sha256 (and, for the manifest, its
Ed25519 signature against GET /api/v1/signing-keys and that it lists exactly these files), then
renames the files into DIR, writes the .sha256 sidecars and the .sig, the manifest last, and saves
the state. Waits as the server asks (Retry-After, RateLimit-Reset). Run it again at any time: it
carries on where it stopped. Exits 1, naming the file, on anything it cannot verify.

Options:
  --url URL               the DDE address, e.g. https://dde.example.com
  --client-id ID          an API client of the connection (dde clients create, or the API access page)
  --client-secret SECRET  its secret (or set DDE_CLIENT_SECRET and leave this out)
  --connection ID         the API connection to pull
  --out DIR               where the files go (created if missing)
  --type TYPE             only these data file types (repeat); manifests are always pulled
  --since ISO             only windows starting at or after this instant`;

const STATE_FILE = '.dde-pull.json';
const MAX_TRIES = 8;
const SERVER_ERROR_TRIES = 3;

const argsSchema = z.object({
  url: z.url('must be an http(s) URL').refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL'),
  'client-id': z.string().min(1, 'is required'),
  'client-secret': z.string().min(1).optional(),
  connection: z.guid('must be a connection id (a UUID)'),
  out: z.string().min(1, 'is required'),
  type: z.array(z.enum(['user', 'campaign', 'activity'], { error: 'must be user, campaign or activity' })).optional(),
  since: z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO instant, e.g. 2026-11-28T00:00:00Z')
    .optional(),
});

type FolderFile = { name: string; file_type: string; sha256: string; bytes: number; download_url: string | null; signature: string | null };
type Folder = { run_id: string; name: string; export_type: string; window_start: string; window_end: string; files: FolderFile[] };
type State = { version: 1; connection: string; pulled: Record<string, { window_start: string; manifest: string }> };

class PullError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The HTTP side: a token, refreshed once on 401; waits on 429/503 and RateLimit-Remaining: 0; retries network errors. */
class Client {
  private token: string | null = null;
  waitedSeconds = 0;
  constructor(
    private base: string,
    private clientId: string,
    private clientSecret: string,
    private say: (line: string) => void,
  ) {}

  /** 429 and 503: wait as asked, up to MAX_TRIES; other 5xx and network errors: a few tries with a short backoff. */
  private async fetchWithRetry(url: string, init: RequestInit, what: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
      } catch (err) {
        if (attempt >= SERVER_ERROR_TRIES) throw new PullError(`${what}: ${(err as Error).message} (after ${attempt} tries)`);
        await this.wait(2 ** (attempt - 1), `${what}: ${(err as Error).message}`);
        continue;
      }
      const asked = res.status === 429 || res.status === 503;
      if ((asked && attempt < MAX_TRIES) || (res.status >= 500 && !asked && attempt < SERVER_ERROR_TRIES)) {
        const retryAfter = Number(res.headers.get('retry-after'));
        const reset = Number(res.headers.get('ratelimit-reset'));
        const seconds = asked ? (retryAfter > 0 ? retryAfter : reset > 0 ? reset : 2 ** attempt) : 2 ** (attempt - 1);
        await res.body?.cancel();
        await this.wait(Math.min(seconds, 300), `${what}: ${res.status}`);
        continue;
      }
      // Spend the budget evenly: at 0 remaining, wait for the window to reset before the next call.
      if (res.headers.get('ratelimit-remaining') === '0') {
        const reset = Number(res.headers.get('ratelimit-reset'));
        if (reset > 0) this.pendingWait = Math.min(reset, 300);
      }
      return res;
    }
  }

  private pendingWait = 0;
  private async wait(seconds: number, why: string) {
    this.say(`waiting ${seconds} s (${why})`);
    this.waitedSeconds += seconds;
    await sleep(seconds * 1000);
  }

  private async authenticate(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret });
    const res = await this.fetchWithRetry(
      `${this.base}/api/oauth/token`,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
      'token',
    );
    const json = (await res.json().catch(() => ({}))) as { access_token?: string; error_description?: string; error?: string };
    if (!res.ok || !json.access_token)
      throw new PullError(`token: ${res.status} ${json.error_description ?? json.error ?? 'no access token in the answer'}`);
    return json.access_token;
  }

  /** GET with the token (fetched, or fetched again once after a 401). */
  async get(url: string, what: string, opts: { auth?: boolean } = { auth: true }): Promise<Response> {
    if (this.pendingWait > 0) {
      const s = this.pendingWait;
      this.pendingWait = 0;
      await this.wait(s, 'RateLimit-Remaining: 0');
    }
    const full = url.startsWith('http') ? url : `${this.base}${url}`;
    for (let again = 0; ; again++) {
      if (opts.auth && !this.token) this.token = await this.authenticate();
      const res = await this.fetchWithRetry(full, { headers: opts.auth ? { authorization: `Bearer ${this.token}` } : {} }, what);
      if (res.status === 401 && opts.auth && again === 0) {
        await res.body?.cancel();
        this.token = null;
        continue;
      }
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          // not JSON
        }
        throw new PullError(`${what}: ${res.status} ${message}`);
      }
      return res;
    }
  }
}

function readState(dir: string, connection: string): State {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) return { version: 1, connection, pulled: {} };
  const state = JSON.parse(readFileSync(file, 'utf8')) as State;
  if (state.connection !== connection)
    throw new CliError(`--out: ${dir} holds files of connection ${state.connection}; pull connection ${connection} into another folder`);
  return state;
}

/** The state, written whole under a temporary name and renamed (never half-written). */
function saveState(dir: string, state: State) {
  const temp = path.join(dir, `${STATE_FILE}.tmp`);
  writeFileSync(temp, JSON.stringify(state, null, 2) + '\n');
  renameSync(temp, path.join(dir, STATE_FILE));
}

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    {
      url: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      connection: { type: 'string' },
      out: { type: 'string' },
      type: { type: 'string', multiple: true },
      since: { type: 'string' },
    },
    argsSchema,
  );
  noPositionals(positionals);
  const secret = values['client-secret'] ?? process.env.DDE_CLIENT_SECRET;
  if (!secret) throw new CliError('--client-secret: is required (or set DDE_CLIENT_SECRET)');
  const base = values.url.replace(/\/+$/, '');
  const dir = path.resolve(values.out);
  mkdirSync(dir, { recursive: true });
  const state = readState(dir, values.connection);
  const say = (line: string) => void process.stderr.write(`pull: ${line}\n`);
  const client = new Client(base, values['client-id'], secret, say);
  const types = values.type ? new Set<string>(values.type) : null;
  const since = values.since ? Date.parse(values.since) : null;

  try {
    const keys = keysFromJwks(await (await client.get('/api/v1/signing-keys', 'signing keys', { auth: false })).json());
    // The folder list (metadata only), newest first: every page, then oldest first from the state.
    const folders: Folder[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ connection: values.connection, limit: '200' });
      if (cursor) q.set('cursor', cursor);
      const page = (await (await client.get(`/api/v1/folders?${q}`, 'folder list')).json()) as {
        data: Folder[];
        next_cursor: string | null;
      };
      folders.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    const todo = folders
      .filter((f) => !state.pulled[f.run_id] && (since === null || Date.parse(f.window_start) >= since))
      .sort((a, b) => a.window_start.localeCompare(b.window_start) || a.export_type.localeCompare(b.export_type));
    say(`${folders.length} folder(s) listed, ${todo.length} to pull`);

    let files = 0;
    let bytes = 0;
    for (const [i, folder] of todo.entries()) {
      const manifestFile = folder.files.find((f) => f.file_type === 'manifest');
      if (!manifestFile) throw new PullError(`folder ${folder.name}: no manifest`);
      const wanted = folder.files.filter((f) => f.file_type === 'manifest' || !types || types.has(f.file_type));
      const tag = Math.random().toString(36).slice(2, 8);
      const temps: { temp: string; final: string }[] = [];
      try {
        const contents = new Map<string, Buffer>();
        for (const f of wanted) {
          if (!f.download_url) throw new PullError(`${f.name}: expired on the server; it can no longer be downloaded`);
          const body = Buffer.from(await (await client.get(f.download_url, f.name, { auth: false })).arrayBuffer());
          const digest = sha256(body);
          if (digest !== f.sha256) throw new PullError(`${f.name}: sha256 ${digest} differs from the listed ${f.sha256}`);
          const temp = path.join(dir, `.${f.name}.part-${tag}`);
          await writeFile(temp, body);
          temps.push({ temp, final: path.join(dir, f.name) });
          contents.set(f.name, body);
          bytes += body.length;
        }
        // The manifest: signed by a published key, and listing exactly the data files downloaded.
        const manifest = contents.get(manifestFile.name)!;
        const check = verifyManifestSignature(manifest, manifestFile.signature, keys);
        if (!check.ok) throw new PullError(`${manifestFile.name}: ${check.problem}`);
        const listed = (JSON.parse(manifest.toString('utf8')) as { files: { name: string; sha256: string; type: string }[] }).files;
        for (const entry of listed) {
          if (types && !types.has(entry.type)) continue;
          const got = contents.get(entry.name);
          if (!got) throw new PullError(`${manifestFile.name}: lists ${entry.name}, which the folder does not hold`);
          if (sha256(got) !== entry.sha256) throw new PullError(`${entry.name}: its sha256 differs from the signed manifest's`);
        }
        // Into place: data files and their sidecars, the signature, the manifest last.
        const last = temps.find((t) => t.final.endsWith(manifestFile.name))!;
        for (const t of temps) {
          if (t === last) continue;
          renameSync(t.temp, t.final);
          const name = path.basename(t.final);
          writeFileSync(`${t.final}.sha256`, `${sha256(contents.get(name)!)}  ${name}\n`);
        }
        writeFileSync(`${last.final}.sig`, manifestFile.signature!);
        renameSync(last.temp, last.final);
        files += temps.length;
      } finally {
        for (const t of temps) rmSync(t.temp, { force: true });
      }
      state.pulled[folder.run_id] = { window_start: folder.window_start, manifest: manifestFile.name };
      saveState(dir, state);
      say(`${i + 1}/${todo.length} ${folder.name} (${folder.window_start} → ${folder.window_end}): ${wanted.length} file(s) verified`);
    }
    saveState(dir, state);
    console.log(
      `Pulled ${todo.length} window(s), ${files} file(s), ${bytes.toLocaleString('en-US')} bytes into ${dir}` +
        (client.waitedSeconds ? ` (waited ${client.waitedSeconds} s as the server asked)` : '') +
        '.',
    );
  } catch (err) {
    if (err instanceof PullError) throw new CliError(`${err.message}. Nothing unverified was kept; run dde pull again to carry on.`);
    throw err;
  }
}
