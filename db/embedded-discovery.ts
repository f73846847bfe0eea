// Finding the embedded PostgreSQL that `npm start` runs, from its data dir (postmaster.pid).
// Kept apart from db/embedded.ts so the web bundle never pulls in the server-starting code.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The port of a live server running from `dir`, if any. */
export function runningPort(dir: string): number | undefined {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
    return Number.isFinite(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

export const embeddedUrl = (password: string, port: number, database = 'dde') =>
  `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

/** The URL of an embedded server already running from `dir`, if any. */
export function discoverEmbedded(dir: string, password: string): string | undefined {
  const port = runningPort(dir);
  return port ? embeddedUrl(password, port) : undefined;
}
