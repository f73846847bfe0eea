// Next.js calls register() once when a web server process starts (`next start`, `next dev`).
// The configured export storage is checked there (instrumentation-node.ts), so a web process with
// a bad bucket, wrong credentials or an unreachable S3 endpoint stops at start-up with a message
// naming the variable.
export async function register(): Promise<void> {
  // Next.js's own switch between its Node.js and edge runtimes (only the former reaches storage).
  if (process.env.NEXT_RUNTIME === 'nodejs') await import('./instrumentation-node');
}
