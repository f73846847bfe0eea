// The connection page's cached answers, refreshed after a change: the connection itself (awaited,
// so a dialog's success state shows the new row) and the connections list behind it.
import type { QueryClient } from '@tanstack/react-query';

export async function refreshConnection(qc: QueryClient, program: number, id: string): Promise<void> {
  await qc.invalidateQueries({ queryKey: ['connection', program, id] });
  void qc.invalidateQueries({ queryKey: ['connections', program] });
}
