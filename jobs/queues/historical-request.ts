// historical-request: split a request into monthly historical runs and start exporting them.
import { z } from 'zod';
import { planHistoricalRequest } from '@/lib/historical';
import { enqueueExports, parsePayload, type QueueContext } from './context';

export const queue = 'historical-request';
const payloadSchema = z.object({ requestId: z.uuid() });

export async function handle(ctx: QueueContext, data: unknown): Promise<void> {
  const payload = parsePayload(ctx, queue, payloadSchema, data);
  if (!payload) return;
  const runIds = await planHistoricalRequest(ctx.database, payload.requestId);
  await enqueueExports(ctx.boss, runIds);
}
