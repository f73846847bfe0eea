// The web server's start-up check (Node.js runtime only; see instrumentation.ts).
import { checkStorage } from '@/lib/storage';

try {
  await checkStorage();
} catch (err) {
  console.error(`web server failed to start: ${(err as Error).message}`);
  process.exit(1);
}
