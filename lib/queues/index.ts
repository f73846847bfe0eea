// The queue contract (see ./definitions.ts): what each queue is, and the one way to enqueue.
export * from './boss';
export * from './definitions';
export * from './enqueue';
export * from './wake';
