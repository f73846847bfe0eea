// Queue payloads: the schema a queue's definition (lib/queues/definitions.ts) holds is the one
// registration parses a job with, once, before its handler; enqueue only takes the payload its queue
// accepts (a wrong one does not compile); every queue has a handler.
import { describe, expect, it } from 'vitest';
import { parseEnv } from '@/lib/env';
import { QUEUE_NAMES, QUEUES, enqueue, queueOptions } from '@/lib/queues';
import type { Database } from '@/db/client';
import type { QueueContext, QueueHandler } from './context';
import { HANDLERS, runJob } from './index';

function context() {
  const errors: unknown[] = [];
  const log = { error: (o: unknown) => errors.push(o), info: () => undefined, warn: () => undefined };
  return { ctx: { log } as unknown as QueueContext, errors };
}

const RUN = '00000000-0000-4000-8000-000000000001';

describe('registration parses the payload once, before the handler', () => {
  it('hands the handler the parsed payload, defaults applied', async () => {
    const seen: unknown[] = [];
    const handler: QueueHandler<'deliver-run'> = { queue: 'deliver-run', handle: async (_ctx, payload) => void seen.push(payload) };
    const { ctx, errors } = context();
    await runJob(ctx, handler, { runId: RUN });
    expect(seen).toEqual([{ runId: RUN, trigger: 'schedule' }]);
    expect(errors).toEqual([]);
  });

  it('logs and drops a bad payload without calling the handler', async () => {
    let called = false;
    const handler: QueueHandler<'deliver-run'> = { queue: 'deliver-run', handle: async () => void (called = true) };
    const { ctx, errors } = context();
    await runJob(ctx, handler, { runId: 'not-a-uuid', trigger: 'sometimes' });
    expect(called).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ queue: 'deliver-run' });
  });

  it('gives a scheduled job without data the empty payload', async () => {
    const seen: unknown[] = [];
    const handler: QueueHandler<'notify'> = { queue: 'notify', handle: async (_c, p) => void seen.push(p) };
    await runJob(context().ctx, handler, null);
    expect(seen).toEqual([{}]);
  });

  it('every queue has its handler, under its own name', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual([...QUEUE_NAMES].sort());
    for (const name of QUEUE_NAMES) expect(HANDLERS[name].queue).toBe(name);
    expect(QUEUES['plan-windows'].payload.safeParse({ connectionId: 'x' }).success).toBe(false);
  });
});

describe('export attempts', () => {
  it('the export-run queue retries a run as often as DDE_EXPORT_MAX_ATTEMPTS leaves attempts', () => {
    const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1/x', NEXTAUTH_SECRET: 's'.repeat(32), DDE_ENCRYPTION_KEY: 'ab'.repeat(32) };
    expect(queueOptions('export-run', parseEnv(base)).retryLimit).toBe(2);
    expect(queueOptions('export-run', parseEnv({ ...base, DDE_EXPORT_MAX_ATTEMPTS: '6' })).retryLimit).toBe(5);
  });
});

describe('enqueue', () => {
  it('makes a wrong payload a type error', () => {
    const database = {} as Database;
    // Each line below fails to compile (tsc --noEmit checks the directives): the test is the typecheck.
    const wrong = [
      // @ts-expect-error runId is required
      () => enqueue(database, 'export-run', {}),
      // @ts-expect-error runId is a string
      () => enqueue(database, 'export-run', { runId: 42 }),
      // @ts-expect-error a deliver-run trigger is schedule or manual
      () => enqueue(database, 'deliver-run', { runId: RUN, trigger: 'sometimes' }),
      // @ts-expect-error notify takes no runId
      () => enqueue(database, 'notify', { runId: RUN }),
      // @ts-expect-error no such queue
      () => enqueue(database, 'export-runs', { runId: RUN }),
    ];
    expect(wrong).toHaveLength(5);
  });
});
