// A customer's pipeline against the real product over HTTP (`next start` and the worker, started by
// e2e/global-setup.ts): a program with one SFTP and two API connections of different frequencies
// and a historical backfill. Walking each API connection's feed (pagination, signed downloads,
// sha256) yields every source event of that connection's windows exactly once and nothing of the
// other connections; `latest` after an empty window answers the empty payload. Then `dde pull`, the
// customer's reference client, walks a connection of its own across worker restarts (the product's
// worker frozen; ours stopped, then one crashing mid-export of a backfill, then another recovering
// it): a pull in between finds nothing half-published, the last pull resumes with only the new
// windows, and `dde verify` passes on the folder with the server's keys.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { parse } from 'csv-parse/sync';
import { e2eDataDir, e2eSql } from './db';
import { E2E_BASE_URL, FIRSTUP } from './fixtures';

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

/** A jobs worker of this test's own, against the product's data dir, as `npm start` runs one. */
function startWorker(log: string[], freezeAt?: 'export:publish'): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DDE_DATA_DIR: e2eDataDir(),
    // A worker told to freeze stops itself (SIGSTOP) at that step of its first export: honoured under NODE_ENV=test only.
    ...(freezeAt ? { NODE_ENV: 'test', DDE_TEST_FREEZE_AT: freezeAt } : { NODE_ENV: 'production' }),
    LOG_LEVEL: 'warn',
    DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32',
  };
  for (const k of ['DATABASE_URL', 'NEXTAUTH_SECRET', 'DDE_ENCRYPTION_KEY', 'TEST_DATABASE_URL', 'SMTP_URL']) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/index.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => log.push(d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString('utf8')));
  return child;
}

/** The process's state letter from /proc/<pid>/stat ('T' when stopped), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Kills a worker the hard way (a crash) and waits for it to be gone. */
async function killWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Stops a worker as an operator restarts one (SIGTERM: it hands its runs back) and waits for it to exit. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

test('dde pull walks a connection over real HTTP across a worker restart and a crash mid-export, and resumes where it stopped; dde verify passes on the folder', async ({
  request,
}, testInfo) => {
  test.setTimeout(20 * 60_000);
  const PULL_PROGRAM = 7702;
  const now = Date.now();
  const B = Math.floor(now / (4 * HOUR)) * 4 * HOUR;
  const D0 = Math.floor(now / DAY) * DAY;
  await cliOk(
    ['seed', '--program', String(PULL_PROGRAM), '--name', 'Pull e2e', '--users', '40', '--campaigns', '4'].concat([
      '--events',
      '3000',
      '--days',
      '4',
      '--until',
      iso(B - 4 * HOUR),
      '--seed',
      '11',
    ]),
  );
  const tokenOut = await cliOk(
    ['tokens', 'create', '--email', FIRSTUP.email, '--name', 'pull e2e'].concat([
      '--scope',
      'data_exports.read',
      '--scope',
      'data_exports.manage',
    ]),
  );
  const personal = { authorization: `Bearer ${/Token: (\S+)/.exec(tokenOut)![1]}` };
  const out = testInfo.outputPath('pulled');
  const log: string[] = [];
  const sql = e2eSql();
  // The product's own worker is frozen for this test, so the only worker is ours, started and
  // restarted here; it is let go again at the end.
  const frozen = (
    await sql<{ pid: number }[]>`
      select pid from worker_heartbeats where stopped_at is null and hostname = ${os.hostname()} and seen_at > now() - interval '1 minute'`
  ).map((r) => r.pid);
  expect(frozen.length).toBeGreaterThan(0);
  for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  let worker: ChildProcess | null = null;
  try {
    const created = await request.post(`/api/v1/connections?program=${PULL_PROGRAM}`, {
      headers: personal,
      data: {
        kind: 'api',
        name: 'Pulled feed',
        contact_emails: ['data@e2e.example.com'],
        format: 'csv',
        frequency: 'every_4_hours',
        start_date: iso(D0 - DAY),
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    const connection = ((await created.json()) as { data: { id: string } }).data.id;
    const clientOut = await cliOk(['clients', 'create', '--program', String(PULL_PROGRAM), '--name', 'Puller', '--connection', connection]);
    const pullArgs = ['pull', '--url', E2E_BASE_URL, '--client-id', /Client id:\s+(\S+)/.exec(clientOut)![1]].concat([
      '--client-secret',
      /Client secret:\s+(\S+)/.exec(clientOut)![1],
      '--connection',
      connection,
      '--out',
      out,
    ]);
    const windows = (B - (D0 - DAY)) / (4 * HOUR);
    const runsOf = async () =>
      sql<{ export_type: string; status: string; n: number }[]>`
        select export_type, status, count(*)::int as n from export_runs where connection_id = ${connection} group by 1, 2`;

    // The first worker exports every closed window: the newest one, [B − 4h, B), and any closing
    // while this runs, have no events.
    worker = startWorker(log);
    let incremental = 0;
    await expect
      .poll(
        async () => {
          const rows = await runsOf();
          const n = (status: string) => rows.find((r) => r.export_type === 'incremental' && r.status === status)?.n ?? 0;
          incremental = n('available') + n('empty');
          return n('available') === windows - 1 && n('empty') >= 1 && rows.every((r) => ['available', 'empty'].includes(r.status));
        },
        { timeout: 9 * 60_000, intervals: [2000] },
      )
      .toBe(true);
    const first = await cli(pullArgs);
    console.log(`PULL first (exit ${first.status}):\n${first.stderr}${first.stdout}`);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`pull: ${incremental} folder(s) listed, ${incremental} to pull`);
    expect(first.stdout).toMatch(new RegExp(`^Pulled ${incremental} window\\(s\\), \\d+ file\\(s\\), [\\d,]+ bytes into `));

    // The worker is restarted; meanwhile a backfill of the day before the connection's start is asked for.
    await stopWorker(worker);
    const hist = await request.post(`/api/v1/connections/${connection}/historical-requests?program=${PULL_PROGRAM}`, {
      headers: personal,
      data: { from: day(D0 - 2 * DAY) },
    });
    expect(hist.status(), await hist.text()).toBe(201);
    // The next worker crashes in the middle of the backfill's export: it stops itself with the files
    // made and not yet published, and is killed there.
    worker = startWorker(log, 'export:publish');
    const crashing = worker;
    await expect
      .poll(
        () => {
          const state = procState(crashing.pid!);
          if (state === null || crashing.exitCode !== null) throw new Error(`the worker exited before it stopped:\n${log.join('')}`);
          return state;
        },
        { timeout: 5 * 60_000, intervals: [500] },
      )
      .toBe('T');
    await killWorker(worker);
    const [{ generating }] = await sql<{ generating: number }[]>`
      select count(*)::int as generating from export_runs where connection_id = ${connection} and export_type = 'historical' and status = 'generating'`;
    expect(generating).toBeGreaterThan(0);
    // A pull now finds nothing new: nothing of the crashed export was published.
    const idle = await cli(pullArgs);
    expect(idle.status, idle.stderr).toBe(0);
    expect(idle.stderr).toContain(`pull: ${incremental} folder(s) listed, 0 to pull`);
    // Another worker hands the dead worker's run back (once its heartbeat is stale) and exports the backfill.
    worker = startWorker(log);
    await expect
      .poll(
        async () =>
          (await sql<{ status: string }[]>`select status from historical_requests where connection_id = ${connection}`)[0]?.status,
        { timeout: 8 * 60_000, intervals: [2000] },
      )
      .toBe('completed');
    const [{ chunks }] = await sql<{ chunks: number }[]>`
      select count(*)::int as chunks from export_runs where connection_id = ${connection} and export_type = 'historical' and status in ('available', 'empty')`;
    expect(chunks).toBeGreaterThan(0);

    // The pull resumes: only the backfill's windows are new.
    const second = await cli(pullArgs);
    console.log(`PULL second (exit ${second.status}):\n${second.stderr}${second.stdout}`);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain(`pull: ${incremental + chunks} folder(s) listed, ${chunks} to pull`);
    expect(second.stdout).toMatch(new RegExp(`^Pulled ${chunks} window\\(s\\), `));

    // dde verify over the pulled folder, the keys fetched from the server: everything holds.
    const verified = await cli(['verify', out, '--keys', `${E2E_BASE_URL}/api/v1/signing-keys`]);
    console.log(`VERIFY (exit ${verified.status}):\n${verified.stdout}${verified.stderr}`);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`\\n${incremental + chunks} manifests, [\\d,]+ rows: everything verified\\.\\n$`));
    // Every event of the connection's windows is in the folder's activity files (verify checked no id twice).
    const [{ events }] = await sql<{ events: number }[]>`
      select count(*)::int as events from activity_events where program_id = ${PULL_PROGRAM}
        and ingested_at >= ${new Date(D0 - 2 * DAY)} and ingested_at < ${new Date(B)}`;
    const manifests = readdirSync(out).filter((n) => /-manifest-.*\.json$/.test(n));
    const activityRows = manifests
      .map((n) => JSON.parse(readFileSync(path.join(out, n), 'utf8')) as { files: { type: string; rows: number }[] })
      .flatMap((m) => m.files.filter((f) => f.type === 'activity'))
      .reduce((s, f) => s + f.rows, 0);
    expect(activityRows).toBe(events);
    console.log(`PULL windows=${incremental} backfill_chunks=${chunks} manifests=${manifests.length} events=${events}`);
  } catch (err) {
    console.log(`worker log:\n${log.join('')}`);
    throw err;
  } finally {
    if (worker) await stopWorker(worker);
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    await sql.end({ timeout: 2 });
  }
});
