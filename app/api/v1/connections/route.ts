// POST /api/v1/connections – create a recurring data connection (API delivery) in a program
import { z } from 'zod';
import { findExistingProgramIds } from '@/db/queries/auth';
import { requireProgram } from '@/lib/auth/actor';
import { createConnection, viewConnection } from '@/lib/connections/lifecycle';
import { createApiConnectionSchema } from '@/lib/connections/schemas';
import { AppError, validationError } from '@/lib/http/errors';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';

const bodySchema = z.looseObject({
  program_id: z.number({ error: 'program_id must be a program id (a number).' }).int().positive().max(Number.MAX_SAFE_INTEGER),
});

export const POST = withAuth(
  async (req, { actor, database }) => {
    const { program_id: programId, ...fields } = await parseJson(req, bodySchema);
    const parsed = createApiConnectionSchema.safeParse(fields);
    if (!parsed.success) throw validationError(parsed.error, 'request body');
    requireProgram(actor, programId);
    if ((await findExistingProgramIds(database.db, [programId])).length === 0) throw new AppError('not_found', `Program ${programId} was not found.`);
    const connection = await createConnection(database, actor, programId, parsed.data);
    return Response.json({ connection: viewConnection(connection) }, { status: 201 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
