// GET /api/v1/connections/{id}/notification-settings – report mode, auto-pause threshold, why it paused itself, the daily check's verdict; PATCH – change report mode or auto-pause threshold
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf } from '@/lib/management/lookups';
import { notificationSettingsJson, notificationSettingsSchema, updateNotificationSettings } from '@/lib/notify';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const programId = program;
    const connection = await connectionOf(db, programId, params);
    return Response.json({ data: await notificationSettingsJson(db, connection) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const PATCH = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const input = await parseJson(req, notificationSettingsSchema);
    const programId = program;
    const connection = await connectionOf(db, programId, params);
    const updated = await updateNotificationSettings(database, actor, programId, connection.id, input);
    return Response.json({ data: await notificationSettingsJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
