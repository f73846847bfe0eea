// The whole schema, split by domain.
export * from './source';
export * from './auth';
export * from './connections';
export * from './exports';
export * from './audit';
export * from './webhooks';
export * from './ops';
