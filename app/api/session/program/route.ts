// POST /api/session/program – remember the program chosen in the program switcher (a cookie, checked on every use)
import { z } from 'zod';
import { listActorPrograms } from '@/lib/auth/actor';
import { PROGRAM_COOKIE } from '@/lib/auth/program-selection';
import { env } from '@/lib/env';
import { AppError } from '@/lib/http/errors';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

const selectProgramSchema = z.object({ program_id: z.coerce.number().int().positive() }).strict();

export const POST = withAuth(
  async (req, { actor, db }) => {
    const { program_id } = await parseJson(req, selectProgramSchema);
    const program = (await listActorPrograms(db, actor)).find((p) => p.id === program_id);
    if (!program) throw new AppError('not_found', `Program ${program_id} was not found.`);
    const secure = env().nextAuthUrl.startsWith('https://') ? '; Secure' : '';
    return Response.json(
      { program },
      { headers: { 'set-cookie': `${PROGRAM_COOKIE}=${program.id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax${secure}` } },
    );
  },
  { sessionOnly: true },
);
