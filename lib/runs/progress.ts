// Live progress of a run's step (rows exported, bytes uploaded), written through the run ledger at
// most once per interval: the export and upload report far more often than the pages need, and
// every write is a statement on the run's row. The latest report waits until the interval since the
// previous write has passed, then goes out in one write; writes never overlap, and a failed write
// never breaks the step it reports on.

/** Progress is written at most this often (the event history polls every 2 s while a run is in flight). */
export const PROGRESS_INTERVAL_MS = 1000;

export type ProgressWriter<T> = {
  /** The step's latest progress; written within the interval. */
  report: (value: T) => void;
  /** No more writes; waits for the one in flight. A report not written yet is dropped (the step's totals follow). */
  stop: () => Promise<void>;
};

export function throttledProgress<T>(write: (value: T) => Promise<unknown>, opts: { intervalMs?: number } = {}): ProgressWriter<T> {
  const intervalMs = opts.intervalMs ?? PROGRESS_INTERVAL_MS;
  let latest: { value: T } | undefined;
  let lastWrite = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  const schedule = () => {
    if (stopped || timer || inFlight || !latest) return;
    // Monotonic time: the application clock may be frozen or moved by tests.
    timer = setTimeout(flush, Math.max(0, lastWrite + intervalMs - performance.now()));
    timer.unref?.();
  };
  const flush = () => {
    timer = undefined;
    if (stopped || !latest) return;
    const { value } = latest;
    latest = undefined;
    lastWrite = performance.now();
    inFlight = write(value).then(
      () => undefined,
      () => undefined,
    );
    void inFlight.finally(() => {
      inFlight = undefined;
      schedule();
    });
  };

  return {
    report: (value) => {
      if (stopped) return;
      latest = { value };
      schedule();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
