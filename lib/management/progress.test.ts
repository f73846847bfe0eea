// The time left of an upload, from the attempt's average rate.
import { describe, expect, it } from 'vitest';
import { etaSeconds } from './progress';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);

describe('time left of a delivery', () => {
  it('is the bytes left at the average rate so far', () => {
    // 3 MB of 10 MB in 30 s: 100 kB/s, 7 MB left → 70 s.
    expect(etaSeconds({ done: 3_000_000, total: 10_000_000, startedAt: at(0), updatedAt: at(30) })).toBe(70);
    expect(etaSeconds({ done: 1, total: 3, startedAt: at(0), updatedAt: at(1) })).toBe(2);
  });

  it('is unknown before the first byte or the first report, and 0 once everything is sent', () => {
    expect(etaSeconds({ done: 0, total: 10, startedAt: at(0), updatedAt: at(5) })).toBeNull();
    expect(etaSeconds({ done: 5, total: null, startedAt: at(0), updatedAt: at(5) })).toBeNull();
    expect(etaSeconds({ done: 5, total: 10, startedAt: at(0), updatedAt: null })).toBeNull();
    expect(etaSeconds({ done: 5, total: 10, startedAt: at(5), updatedAt: at(5) })).toBeNull();
    expect(etaSeconds({ done: 10, total: 10, startedAt: at(0), updatedAt: at(5) })).toBe(0);
  });
});
