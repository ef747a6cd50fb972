/** Waits, rates and tags as the dashboard writes them. */

import { describe, expect, it } from 'vitest';
import { formatPercent, formatWait, languageName, spokenWait, tagWords } from '../src/dashboard/format.js';
import { History } from '../src/dashboard/history.js';

describe('format', () => {
  /** Under a minute is never "0 min". */
  it('writes waits', () => {
    expect([0, 59, 60, 119, 3599, 3600, 3900].map(formatWait)).toEqual(['<1 min', '<1 min', '1 min', '1 min', '59 min', '1 h 00 min', '1 h 05 min']);
    expect([30, 60, 180, 3660, 7200].map(spokenWait)).toEqual(['less than a minute', '1 minute', '3 minutes', '1 hour 1 minute', '2 hours']);
  });

  /** Rates are whole percentages, with "<1%" for rare but non-zero. */
  it('writes rates', () => {
    expect([0, 0.001, 0.143, 0.5, 1].map(formatPercent)).toEqual(['0%', '<1%', '14%', '50%', '100%']);
  });

  it('writes tags as words', () => {
    expect(tagWords('on_break')).toBe('on break');
    expect(tagWords('exit-plan')).toBe('exit plan');
    expect(languageName('da')).toBe('Danish');
    expect(languageName('xx')).toBe('xx');
  });
});

describe('history', () => {
  /** Samples older than the window are dropped; the maximum follows. */
  it('keeps a sliding window', () => {
    const h = new History(600);
    h.push(1000, 5);
    h.push(1300, 2);
    expect(h.max()).toBe(5);
    h.push(1601, 1);
    expect(h.all()).toEqual([{ at: 1300, value: 2 }, { at: 1601, value: 1 }]);
    expect(h.max()).toBe(2);
  });

  /** Two snapshots in the same second keep one sample, the newer value. */
  it('replaces a sample at the same time', () => {
    const h = new History(600);
    h.push(1000, 1);
    h.push(1000, 3);
    h.push(999, 4);
    expect(h.all()).toEqual([{ at: 1000, value: 4 }]);
  });
});
