// A customer's pipeline against the real product over HTTP (`next start` and the worker, started by
// e2e/global-setup.ts): a program with one SFTP and two API connections of different frequencies
// and a historical backfill. Walking each API connection's feed (pagination, signed downloads,
// sha256) yields every source event of that connection's windows exactly once and nothing of the
// other connections; `latest` after an empty window answers the empty payload.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { parse } from 'csv-parse/sync';
import { e2eDataDir, e2eSql } from './db';
import { FIRSTUP } from './fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROGRAM = 7701;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type FileView = {
  id: string;
  connection_id: string;
  run_id: string;
  name: string;
  export_type: 'incremental' | 'historical';
  window_start: string;
  window_end: string;
  rows: number;
  sha256: string;
  compression: 'gzip' | 'none';
  download_url: string;
};
type Page = { data: FileView[]; has_more: boolean; next_cursor: string | null };

/**
 * The CLI against the running product's data dir. Asynchronous on purpose: a synchronous spawn
 * blocks this process's event loop for the CLI's whole run, so the server's close of an idle
 * keep-alive socket goes unnoticed and the next request is written into a closed socket (reset).
 */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DDE_DATA_DIR: e2eDataDir(), LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'NEXTAUTH_SECRET', 'DDE_ENCRYPTION_KEY', 'TEST_DATABASE_URL', 'NODE_ENV']) delete env[k];
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'scripts/cli.ts', ...args], { cwd: root, env, encoding: 'utf8', timeout: 180_000 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ status: err ? (typeof code === 'number' ? code : null) : 0, stdout, stderr });
    });
  });
}

async function cliOk(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.status, `dde ${args.join(' ')}: ${r.stderr || r.stdout}`).toBe(0);
  return r.stdout;
}

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);

/** Every file of a feed, following next_cursor with small pages. */
async function walk(request: APIRequestContext, auth: Record<string, string>, query: string): Promise<FileView[]> {
  const out: FileView[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 500; pages++) {
    const res = await request.get(`/api/v1/data_exports/activity?limit=3${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      headers: auth,
    });
    expect(res.status(), await res.text()).toBe(200);
    const page = (await res.json()) as Page;
    out.push(...page.data);
    if (!page.has_more) return out;
    cursor = page.next_cursor;
  }
  throw new Error('the walk did not end');
}

/** Downloads a file, checks its bytes against sha256, and returns its activity rows' Event IDs. */
async function eventIds(request: APIRequestContext, file: FileView): Promise<string[]> {
  const res = await request.get(file.download_url);
  expect(res.status()).toBe(200);
  const bytes = await res.body();
  expect(createHash('sha256').update(bytes).digest('hex'), `${file.name}: its bytes hash to its sha256`).toBe(file.sha256);
  const text = (file.compression === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
  const rows = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  expect(rows.length, `${file.name}: rows`).toBe(file.rows);
  return rows.map((r) => r['Event ID']);
}

test('each API connection is its own feed: every event exactly once, nothing of the other connections, the empty payload after an empty window', async ({
  request,
}) => {
  test.setTimeout(12 * 60_000);
  const now = Date.now();
  const B = Math.floor(now / (4 * HOUR)) * 4 * HOUR; // the current 4-hour window's start
  const D0 = Math.floor(now / DAY) * DAY; // today 00:00 UTC
  // No event is ingested in the newest closed 4-hour window [B − 4h, B): it is the empty one.
  await cliOk([
    'seed',
    '--program',
    String(PROGRAM),
    '--name',
    'Pipeline e2e',
    '--users',
    '60',
    '--campaigns',
    '6',
    '--events',
    '4000',
    '--days',
    '4',
    '--until',
    iso(B - 4 * HOUR),
    '--seed',
    '7',
  ]);
  const tokenOut = await cliOk([
    'tokens',
    'create',
    '--email',
    FIRSTUP.email,
    '--name',
    'pipeline e2e',
    '--scope',
    'data_exports.read',
    '--scope',
    'data_exports.manage',
  ]);
  const personal = { authorization: `Bearer ${/Token: (\S+)/.exec(tokenOut)![1]}` };

  // Two API connections through the management API, the SFTP one straight into the database (its
  // server does not exist: its files are generated, its deliveries fail).
  const createApi = async (body: Record<string, unknown>) => {
    const res = await request.post(`/api/v1/connections?program=${PROGRAM}`, {
      headers: personal,
      data: { kind: 'api', contact_emails: ['data@e2e.example.com'], format: 'csv', ...body },
    });
    expect(res.status(), await res.text()).toBe(201);
    return ((await res.json()) as { data: { id: string } }).data.id;
  };
  const fourHourly = await createApi({ name: 'Every 4 hours feed', frequency: 'every_4_hours', start_date: iso(D0 - DAY) });
  const daily = await createApi({ name: 'Daily feed', frequency: 'daily', start_date: iso(D0 - 2 * DAY) });
  const sql = e2eSql();
  try {
    const [sftp] = await sql<{ id: string }[]>`
      insert into connections (program_id, kind, name, frequency, start_date, format, sftp_host, sftp_port, sftp_folder, sftp_username, auth_method, contact_emails)
      values (${PROGRAM}, 'sftp', 'SFTP drop', 'every_4_hours', ${new Date(D0 - DAY)}, 'csv', '127.0.0.2', 22, '/upload', 'nobody', 'password', '{ops@e2e.example.com}')
      returning id`;

    // A historical backfill of the daily connection: the day before its start.
    const hist = await request.post(`/api/v1/connections/${daily}/historical-requests?program=${PROGRAM}`, {
      headers: personal,
      data: { from: day(D0 - 3 * DAY) },
    });
    expect(hist.status(), await hist.text()).toBe(201);

    // Wait until the worker has exported every closed window of both API connections, the SFTP
    // connection's files and the backfill.
    const windows = { [fourHourly]: (B - (D0 - DAY)) / (4 * HOUR), [daily]: 2 };
    await expect
      .poll(
        async () => {
          const rows = await sql<{ connection_id: string; done: number }[]>`
            select connection_id, count(*)::int as done from export_runs
            where program_id = ${PROGRAM} and export_type = 'incremental' and status in ('available', 'empty')
            group by connection_id`;
          const [h] = await sql<{ status: string }[]>`select status from historical_requests where connection_id = ${daily}`;
          const [s] = await sql<{ files: number }[]>`
            select count(*)::int as files from export_files f join export_runs r on r.id = f.run_id where r.connection_id = ${sftp.id}`;
          const done = Object.fromEntries(rows.map((r) => [r.connection_id, r.done]));
          return done[fourHourly] >= windows[fourHourly] && done[daily] >= windows[daily] && h?.status === 'completed' && s.files > 0;
        },
        { timeout: 9 * 60_000, intervals: [3000] },
      )
      .toBe(true);

    // An API client of the 4-hourly connection: the CLI needs --connection (the program has two).
    const ambiguous = await cli(['clients', 'create', '--program', String(PROGRAM), '--name', 'Warehouse']);
    expect(ambiguous.status).not.toBe(0);
    expect(ambiguous.stderr).toContain(fourHourly);
    expect(ambiguous.stderr).toContain(daily);
    const clientOut = await cliOk(['clients', 'create', '--program', String(PROGRAM), '--name', 'Warehouse', '--connection', fourHourly]);
    const clientId = /Client id:\s+(\S+)/.exec(clientOut)![1];
    const clientSecret = /Client secret:\s+(\S+)/.exec(clientOut)![1];
    const tokenRes = await request.post('/api/oauth/token', {
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      form: { grant_type: 'client_credentials' },
    });
    expect(tokenRes.status(), await tokenRes.text()).toBe(200);
    const client = { authorization: `Bearer ${((await tokenRes.json()) as { access_token: string }).access_token}` };

    // The personal token reads both API connections: it must say which; the client may not read the other.
    const which = await request.get(`/api/v1/data_exports/activities?program=${PROGRAM}`, { headers: personal });
    expect(which.status()).toBe(422);
    const whichText = await which.text();
    expect(whichText).toContain(fourHourly);
    expect(whichText).toContain(daily);
    expect((await request.get(`/api/v1/data_exports/activity?connection=${daily}`, { headers: client })).status()).toBe(404);
    expect(
      (await request.get(`/api/v1/data_exports/activity?connection=${sftp.id}&program=${PROGRAM}`, { headers: personal })).status(),
    ).toBe(404);

    const sftpFiles = new Set(
      (
        await sql<
          { id: string }[]
        >`select f.id from export_files f join export_runs r on r.id = f.run_id where r.connection_id = ${sftp.id}`
      ).map((r) => r.id),
    );
    const feeds = [
      { id: fourHourly, auth: client, query: '', from: D0 - DAY, to: B },
      { id: daily, auth: personal, query: `&program=${PROGRAM}&connection=${daily}`, from: D0 - 3 * DAY, to: D0 },
    ];
    const seen = new Map<string, Set<string>>();
    for (const feed of feeds) {
      const files = await walk(request, feed.auth, feed.query);
      for (const f of files) {
        expect(f.connection_id).toBe(feed.id);
        expect(sftpFiles.has(f.id)).toBe(false);
      }
      expect(new Set(files.map((f) => f.id)).size, 'no file twice in a walk').toBe(files.length);
      const ids: string[] = [];
      for (const f of files) ids.push(...(await eventIds(request, f)));
      // A file's metadata, over real HTTP too.
      const meta = await request.get(`/api/v1/data_exports/activity/${files[0].id}${feed.query.replace(/^&/, '?')}`, {
        headers: feed.auth,
      });
      expect(meta.status(), await meta.text()).toBe(200);
      expect(((await meta.json()) as { data: FileView }).data.id).toBe(files[0].id);
      const expected = (
        await sql<{ id: string }[]>`
          select id::text from activity_events
          where program_id = ${PROGRAM} and ingested_at >= ${new Date(feed.from)} and ingested_at < ${new Date(feed.to)}`
      ).map((r) => r.id);
      expect(ids.length, `connection ${feed.id}: events`).toBe(new Set(ids).size);
      expect([...ids].sort()).toEqual([...expected].sort());
      seen.set(feed.id, new Set(ids));
      const historical = files.filter((f) => f.export_type === 'historical');
      console.log(
        `PIPELINE connection=${feed.id} files=${files.length} historical_files=${historical.length} events=${ids.length} expected=${expected.length}`,
      );
      if (feed.id === daily) {
        expect(historical.length).toBeGreaterThan(0);
        const onlyHistorical = await walk(request, feed.auth, `${feed.query}&export_type=historical`);
        expect(onlyHistorical.map((f) => f.id).sort()).toEqual(historical.map((f) => f.id).sort());
      }
    }
    // The feeds overlap in time (both cover yesterday) yet each counts its own copy once.
    expect(seen.get(fourHourly)!.size).toBeGreaterThan(0);

    // latest: the 4-hourly connection's newest closed window had no event → the empty payload; the
    // daily one's newest window had events → its file. The seed's singular word works; ETag → 304.
    const latest = await request.get('/api/v1/data_exports/activity/latest', { headers: client });
    expect(latest.status()).toBe(200);
    expect(await latest.json()).toEqual({ data: null, window: { start: iso(B - 4 * HOUR), end: iso(B), status: 'empty' } });
    expect(latest.headers()['ratelimit-limit']).toMatch(/^\d+$/);
    expect(latest.headers()['ratelimit-remaining']).toMatch(/^\d+$/);
    expect(latest.headers()['ratelimit-reset']).toMatch(/^\d+$/);
    const etag = latest.headers()['etag'];
    expect(etag).toBeTruthy();
    const again = await request.get('/api/v1/data_exports/activity/latest', { headers: { ...client, 'if-none-match': etag } });
    expect(again.status()).toBe(304);
    const dailyLatest = await request.get(`/api/v1/data_exports/activities/latest?program=${PROGRAM}&connection=${daily}`, {
      headers: personal,
    });
    const body = (await dailyLatest.json()) as { data: FileView | null; window: { start: string; end: string; status: string } };
    expect(body.window).toEqual({ start: iso(D0 - DAY), end: iso(D0), status: 'available' });
    expect(body.data?.window_start).toBe(iso(D0 - DAY));
    console.log(`PIPELINE latest connection=${fourHourly} status=empty; connection=${daily} status=${body.window.status}`);
  } finally {
    await sql.end({ timeout: 2 });
  }
});
