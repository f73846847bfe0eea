// Queue payloads: each queue module's schema is the one registration parses a job with, once,
// before its handler; send() only takes the payload its queue accepts (a wrong one does not compile)
// and passes pg-boss's options through unchanged.
import type PgBoss from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { QUEUE_NAMES, send, sendAfter } from '@/jobs/boss';
import type { QueueContext, QueueModule } from './context';
import * as deliverRun from './deliver-run';
import { runJob } from './index';
import * as notify from './notify';
import * as planWindows from './plan-windows';

function context() {
  const errors: unknown[] = [];
  const log = { error: (o: unknown) => errors.push(o), info: () => undefined, warn: () => undefined };
  return { ctx: { log } as unknown as QueueContext, errors };
}

function fakeBoss() {
  const calls: unknown[][] = [];
  const boss = {
    send: async (...args: unknown[]) => (calls.push(['send', ...args]), 'job-1'),
    sendAfter: async (...args: unknown[]) => (calls.push(['sendAfter', ...args]), 'job-2'),
  } as unknown as PgBoss;
  return { boss, calls };
}

const RUN = '00000000-0000-4000-8000-000000000001';

describe('registration parses the payload once, before the handler', () => {
  it('hands the handler the parsed payload, defaults applied', async () => {
    const seen: unknown[] = [];
    const mod: QueueModule<typeof deliverRun.payloadSchema> = {
      queue: 'deliver-run',
      payloadSchema: deliverRun.payloadSchema,
      handle: async (_ctx, payload) => void seen.push(payload),
    };
    const { ctx, errors } = context();
    await runJob(ctx, mod, { runId: RUN });
    expect(seen).toEqual([{ runId: RUN, trigger: 'schedule' }]);
    expect(errors).toEqual([]);
  });

  it('logs and drops a bad payload without calling the handler', async () => {
    let called = false;
    const mod: QueueModule<typeof deliverRun.payloadSchema> = {
      queue: 'deliver-run',
      payloadSchema: deliverRun.payloadSchema,
      handle: async () => void (called = true),
    };
    const { ctx, errors } = context();
    await runJob(ctx, mod, { runId: 'not-a-uuid', trigger: 'sometimes' });
    expect(called).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ queue: 'deliver-run' });
  });

  it('gives a scheduled job without data the empty payload', async () => {
    const seen: unknown[] = [];
    const mod: QueueModule<typeof notify.payloadSchema> = {
      queue: 'notify',
      payloadSchema: notify.payloadSchema,
      handle: async (_c, p) => void seen.push(p),
    };
    await runJob(context().ctx, mod, null);
    expect(seen).toEqual([{}]);
  });

  it('every queue module exports the schema of its payload', async () => {
    const mods = await Promise.all(
      QUEUE_NAMES.map(async (name) => (await import(`./${name}.ts`)) as { queue: string; payloadSchema: z.ZodType }),
    );
    expect(mods.map((m) => m.queue)).toEqual(QUEUE_NAMES);
    for (const m of mods) expect(m.payloadSchema).toBeInstanceOf(z.ZodType);
    expect(planWindows.payloadSchema.safeParse({ runId: 'x' }).success).toBe(false);
  });
});

describe('send', () => {
  it('enqueues the payload with pg-boss options as given', async () => {
    const { boss, calls } = fakeBoss();
    await send(boss, 'export-run', { runId: RUN }, { singletonKey: RUN, singletonSeconds: 300 });
    await send(boss, 'plan-windows', { reason: 'resume', connectionId: RUN });
    await sendAfter(boss, 'deliver-run', { runId: RUN, trigger: 'schedule' }, 30);
    expect(calls).toEqual([
      ['send', 'export-run', { runId: RUN }, { singletonKey: RUN, singletonSeconds: 300 }],
      ['send', 'plan-windows', { reason: 'resume', connectionId: RUN }, {}],
      ['sendAfter', 'deliver-run', { runId: RUN, trigger: 'schedule' }, {}, 30],
    ]);
  });

  it('makes a wrong payload a type error', () => {
    const { boss } = fakeBoss();
    // Each line below fails to compile (tsc --noEmit checks the directives): the test is the typecheck.
    const wrong = [
      // @ts-expect-error runId is required
      () => send(boss, 'export-run', {}),
      // @ts-expect-error runId is a string
      () => send(boss, 'export-run', { runId: 42 }),
      // @ts-expect-error a deliver-run trigger is schedule or manual
      () => send(boss, 'deliver-run', { runId: RUN, trigger: 'sometimes' }),
      // @ts-expect-error notify takes no runId
      () => send(boss, 'notify', { runId: RUN }),
      // @ts-expect-error no such queue
      () => send(boss, 'export-runs', { runId: RUN }),
    ];
    expect(wrong).toHaveLength(5);
  });
});
