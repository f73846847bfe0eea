// One page of a keyset list, the same for both APIs: fetch `limit + 1` rows; the first `limit` are
// the page, and the extra row, when there is one, says there is more after the last of them.
import type { CursorCodec } from './cursor';

export function pageOf<R, P>(
  rows: R[],
  limit: number,
  cursor: CursorCodec<P>,
  positionOf: (row: R) => P,
): { rows: R[]; has_more: boolean; next_cursor: string | null } {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  return { rows: page, has_more: hasMore, next_cursor: hasMore ? cursor.encode(positionOf(page[page.length - 1])) : null };
}
