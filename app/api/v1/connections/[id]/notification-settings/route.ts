// GET /api/v1/connections/{id}/notification-settings – report mode, auto-pause threshold, why it paused itself, the daily check's verdict; PATCH – change report mode or auto-pause threshold
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { connectionOf, programOf } from '@/lib/management/program';
import { notificationSettingsJson, notificationSettingsSchema, updateNotificationSettings } from '@/lib/notify';

type Params = { id: string };

export const GET = withAuth<Params>(
  async (req, { actor, db, params }) => {
    const programId = await programOf(req, actor, db);
    const connection = await connectionOf(db, programId, params.id);
    return Response.json({ data: await notificationSettingsJson(db, connection) });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);

export const PATCH = withAuth<Params>(
  async (req, { actor, db, database, params }) => {
    const input = await parseJson(req, notificationSettingsSchema);
    const programId = await programOf(req, actor, db);
    const connection = await connectionOf(db, programId, params.id);
    const updated = await updateNotificationSettings(database, actor, programId, connection.id, input);
    return Response.json({ data: await notificationSettingsJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
