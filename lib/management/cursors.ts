// The cursors of the management API's lists (lib/http/cursor.ts): the event history by run id,
// failed deliveries by delivery id, the Activity Log by entry serial.
import { cursorCodec, serialPosition, uuidPosition } from '@/lib/http/cursor';
import type { ActivityPosition } from './activity';

export const runCursor = cursorCodec('run', uuidPosition);
export const deliveryCursor = cursorCodec('delivery', uuidPosition);
export const auditCursor = cursorCodec('audit', serialPosition);

/** The merged Activity Log (kind=all): the last entry serial and the last failed delivery shown ("" for neither yet). */
export const activityCursor = cursorCodec<ActivityPosition>('activity', {
  encode: (p) => [p.auditId === undefined ? '' : String(p.auditId), p.deliveryId ?? ''],
  decode: (parts) => {
    if (parts.length !== 2) return null;
    const [audit, delivery] = parts;
    const auditId = audit === '' ? undefined : serialPosition.decode([audit]);
    const deliveryId = delivery === '' ? undefined : uuidPosition.decode([delivery]);
    if (auditId === null || deliveryId === null) return null;
    return { auditId, deliveryId };
  },
});
