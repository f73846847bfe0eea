// The progress throttle: however often a step reports, the ledger sees at most one write per
// interval, the latest value gets written, writes never overlap, and nothing is written after stop.
import { describe, expect, it } from 'vitest';
import { throttledProgress } from './progress';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder(writeMs = 0) {
  const writes: { value: number; at: number; end: number }[] = [];
  let running = 0;
  let overlapped = false;
  const write = async (value: number) => {
    if (running++ > 0) overlapped = true;
    const at = performance.now();
    await sleep(writeMs);
    running--;
    writes.push({ value, at, end: performance.now() });
  };
  return { writes, write, overlapped: () => overlapped };
}

describe('throttled progress', () => {
  it('writes the first report at once, then at most once per interval, and the latest value last', async () => {
    const r = recorder();
    const p = throttledProgress(r.write, { intervalMs: 100 });
    const started = performance.now();
    for (let i = 1; i <= 50; i++) {
      p.report(i);
      await sleep(10);
    }
    const reported = performance.now();
    await sleep(150); // the trailing report goes out within the interval
    await p.stop();
    expect(r.writes[0].at - started).toBeLessThan(50);
    for (let i = 1; i < r.writes.length; i++) expect(r.writes[i].at - r.writes[i - 1].at).toBeGreaterThanOrEqual(95);
    // About 0.5 s of reports every 10 ms: a handful of writes, not fifty. The bound follows the time
    // the reports really took (a loaded machine stretches the 10 ms sleeps): one write per interval
    // elapsed, plus the first and the trailing one.
    expect(r.writes.length).toBeGreaterThanOrEqual(3);
    expect(r.writes.length).toBeLessThanOrEqual(Math.floor((reported - started) / 100) + 2);
    expect(r.writes.at(-1)!.value).toBe(50);
    expect(r.writes.map((w) => w.value)).toEqual([...r.writes.map((w) => w.value)].sort((a, b) => a - b));
  });

  it('never starts a write while the previous one is still running', async () => {
    const r = recorder(120);
    const p = throttledProgress(r.write, { intervalMs: 20 });
    for (let i = 1; i <= 30; i++) {
      p.report(i);
      await sleep(10);
    }
    await sleep(300);
    await p.stop();
    expect(r.overlapped()).toBe(false);
    for (let i = 1; i < r.writes.length; i++) expect(r.writes[i].at).toBeGreaterThanOrEqual(r.writes[i - 1].end - 1);
    expect(r.writes.at(-1)!.value).toBe(30);
  });

  it('waits for the write in flight on stop, and writes nothing afterwards', async () => {
    const r = recorder(50);
    const p = throttledProgress(r.write, { intervalMs: 100 });
    p.report(1);
    await sleep(10);
    p.report(2); // due only after the interval: dropped by stop
    await p.stop();
    expect(r.writes.map((w) => w.value)).toEqual([1]);
    p.report(3);
    await sleep(200);
    expect(r.writes.map((w) => w.value)).toEqual([1]);
  });

  it('goes on after a failed write without throwing', async () => {
    const values: number[] = [];
    let first = true;
    const p = throttledProgress(
      async (v: number) => {
        if (first) {
          first = false;
          throw new Error('database went away');
        }
        values.push(v);
      },
      { intervalMs: 30 },
    );
    p.report(1);
    await sleep(10);
    p.report(2);
    await sleep(80);
    await p.stop();
    expect(values).toEqual([2]);
  });
});
