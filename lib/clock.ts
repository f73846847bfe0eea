// The only source of "now". Tests move time through setClock() instead of waiting for it.
let current: () => Date = () => new Date();

export function now(): Date {
  return current();
}

/** Replace the clock (tests). Pass a Date to freeze time, a function to drive it. */
export function setClock(clock: Date | (() => Date)): void {
  current = clock instanceof Date ? () => new Date(clock.getTime()) : clock;
}

export function resetClock(): void {
  current = () => new Date();
}
