// Signed webhooks of a connection: endpoints, messages and their delivery log, signing, and the
// outbound address policy's call site.
export * from './by-hand';
export * from './deliveries';
export * from './endpoints';
export * from './outbound';
export * from './payloads';
export * from './secret';
export * from './sign';
export * from './send';
