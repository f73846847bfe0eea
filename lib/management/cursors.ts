// The cursors of the management API's lists (lib/http/cursor.ts): the event history by run id,
// failed deliveries by delivery id, the Activity Log by entry serial.
import { cursorCodec, serialPosition, uuidPosition } from '@/lib/http/cursor';

export const runCursor = cursorCodec('run', uuidPosition);
export const deliveryCursor = cursorCodec('delivery', uuidPosition);
export const auditCursor = cursorCodec('audit', serialPosition);
