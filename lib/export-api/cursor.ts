// The cursors of the Export API's lists (lib/http/cursor.ts): a list position (created_at to the
// microsecond, id) in the newest-first order, so files arriving between two page requests (always
// newer) never shift or repeat what follows.
import { cursorCodec, instantPosition } from '@/lib/http/cursor';

export const fileCursor = cursorCodec('file', instantPosition);
export const folderCursor = cursorCodec('folder', instantPosition);
