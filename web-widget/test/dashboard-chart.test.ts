/** Chart scaling and layout: readable axis tops, bars in proportion, segments that meet, a sparkline across the window. */

import { describe, expect, it } from 'vitest';
import { BARS, barLayout, clip, niceMax, SPARK, sparkPoints, stackLayout } from '../src/dashboard/chart.js';

describe('niceMax', () => {
  /** 1, 2 or 5 times a power of ten, never below the value or the floor. */
  it('rounds up to a readable top', () => {
    expect([0, 1, 3, 7, 10, 11, 24, 99, 130, 5001].map((v) => niceMax(v))).toEqual([1, 1, 5, 10, 10, 20, 50, 100, 200, 10000]);
    expect(niceMax(1, 4)).toBe(5);
    expect(niceMax(0.3)).toBe(1);
  });
});

describe('bar layout', () => {
  const span = BARS.width - BARS.labelWidth - BARS.valueWidth;

  /** Bars are in proportion to the axis top; a zero is no bar; a tiny value still shows. */
  it('scales bars', () => {
    const { bars, top, height } = barLayout([{ label: 'a', value: 10 }, { label: 'b', value: 5 }, { label: 'c', value: 0 }, { label: 'd', value: 1 }]);
    expect(top).toBe(10);
    expect(bars.map((b) => b.width)).toEqual([span, span / 2, 0, Math.max(2, span / 10)]);
    expect(bars.map((b) => b.y)).toEqual([0, BARS.row, 2 * BARS.row, 3 * BARS.row]);
    expect(height).toBe(4 * BARS.row);
  });

  /** One waiting person does not fill the chart; an empty chart still has a row. */
  it('handles small and empty data', () => {
    expect(barLayout([{ label: 'q', value: 1 }], 5).bars[0]!.width).toBeCloseTo(span / 5, 1);
    expect(barLayout([]).height).toBe(BARS.row);
  });

  it('clips long labels', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('a very long topic name', 10)).toBe('a very lo…');
  });
});

describe('stack layout', () => {
  /** Segments are proportional, contiguous and fill the width exactly. */
  it('splits the width', () => {
    const segs = stackLayout([{ key: 'a', value: 1 }, { key: 'b', value: 2 }, { key: 'c', value: 0 }, { key: 'd', value: 3 }], 480);
    expect(segs.map((s) => s.width)).toEqual([80, 160, 0, 240]);
    segs.forEach((s, i) => { if (i > 0) expect(s.x).toBe(segs[i - 1]!.x + segs[i - 1]!.width); });
    expect(stackLayout([{ key: 'a', value: 0 }], 480)).toEqual([{ key: 'a', value: 0, x: 0, width: 0 }]);
  });
});

describe('sparkline', () => {
  /** Steps from sample to sample, reaching the right edge at "now"; older samples are clamped to the left edge. */
  it('places samples in the window', () => {
    const pts = sparkPoints([{ at: 400, value: 0 }, { at: 700, value: 10 }], 1000, 600, 10).split(' ');
    const bottom = SPARK.height - SPARK.pad;
    expect(pts).toEqual([`0,${bottom}`, `240,${bottom}`, `240,${SPARK.pad}`, `${SPARK.width},${SPARK.pad}`]);
    expect(sparkPoints([], 1000, 600, 10)).toBe('');
  });
});
