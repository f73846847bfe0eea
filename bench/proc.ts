// CPU seconds from /proc, for benchmarks that count what each side of a run cost (ours, PostgreSQL's
// backends, a reference tool), unaffected by how busy the machine is otherwise.
import { readdirSync, readFileSync } from 'node:fs';

type Proc = { ppid: number; ticks: number; cmd: string };

function processes(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime + cutime + cstime: a reaped child's time is counted in its parent.
      procs.set(Number(e), {
        ppid: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
        cmd: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      });
    } catch {
      // gone meanwhile: counted in its parent's children times
    }
  }
  return procs;
}

/** CPU seconds (user + system) of `roots` and their descendants, exited ones included. */
export function treeCpuSeconds(roots: number[]): number {
  const procs = processes();
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  let ticks = 0;
  const walk = (pid: number) => {
    ticks += procs.get(pid)?.ticks ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  for (const r of roots) walk(r);
  return ticks / 100; // USER_HZ
}

/** CPU seconds of single processes (no descendants): a PostgreSQL backend serving one connection. */
export function ownCpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/** The postmaster's pid, from the data directory's postmaster.pid. */
export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
}
