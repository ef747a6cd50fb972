/**
 * Charts as inline SVG built with DOM calls (no library, no inline styles: colours come from
 * classes in dashboard.css, so the page's CSP holds). Layout is computed by pure functions
 * (tested); the builders only turn layouts into elements. Every chart is `role="img"` with a
 * label that says in words what it shows.
 */

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | number>> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/**
 * The top of an axis for values up to `max`: 1, 2 or 5 times a power of ten, at least `max`
 * and at least `floor` (so a quiet evening with 1 waiting does not fill the whole chart).
 */
export function niceMax(max: number, floor = 1): number {
  const m = Math.max(max, floor, Number.MIN_VALUE);
  const p = 10 ** Math.floor(Math.log10(m));
  for (const f of [1, 2, 5, 10]) if (f * p >= m) return f * p;
  return 10 * p;
}

/** A bar to draw. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Top of the bar's row. */
  readonly y: number;
  /** Length of the bar (0 for 0, at least 2 for anything above 0 so it is seen). */
  readonly width: number;
}

/** Geometry of a horizontal bar chart, in viewBox units (= CSS pixels at natural size). */
export interface BarGeometry {
  readonly width: number;
  readonly labelWidth: number;
  readonly valueWidth: number;
  readonly row: number;
  readonly bar: number;
}

/** The default geometry (half a 1280 px page); {@link NARROW_BARS} for three charts side by side. */
export const BARS: BarGeometry = { width: 480, labelWidth: 170, valueWidth: 50, row: 28, bar: 18 };
export const NARROW_BARS: BarGeometry = { ...BARS, width: 360, labelWidth: 130, valueWidth: 40 };

/** Lays out horizontal bars, one row per entry, scaled to {@link niceMax} of the values. */
export function barLayout(entries: readonly { label: string; value: number }[], floor = 1, g: BarGeometry = BARS): { bars: Bar[]; top: number; height: number } {
  const top = niceMax(Math.max(0, ...entries.map((e) => e.value)), floor);
  const span = g.width - g.labelWidth - g.valueWidth;
  const bars = entries.map((e, i) => ({
    label: e.label, value: e.value, y: i * g.row,
    width: e.value <= 0 ? 0 : Math.max(2, Math.round((e.value / top) * span * 10) / 10),
  }));
  return { bars, top, height: Math.max(1, entries.length) * g.row };
}

/** `text` cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An SVG drawn at its natural size (`width`/`height`), shrinking with CSS only where the column is narrower. */
function canvas(cls: string, width: number, height: number, label: string): SVGSVGElement {
  return svg('svg', { class: `chart ${cls}`, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label });
}

/**
 * A horizontal bar chart; `describe` is its accessible name. An empty list is a line of text
 * ("None yet"), not an empty chart.
 */
export function barChart(entries: readonly { label: string; value: number }[], describe: string, tone = 'tone-a', g: BarGeometry = BARS): Element {
  if (entries.length === 0) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'None yet';
    return p;
  }
  const { bars, height } = barLayout(entries, 1, g);
  const chart = canvas(`bars ${tone}`, g.width, height, `${describe}: ${entries.map((e) => `${e.label} ${e.value}`).join(', ')}`);
  const chars = Math.floor(g.labelWidth / 7.5);
  for (const b of bars) {
    const mid = b.y + g.row / 2;
    chart.append(
      svg('text', { x: g.labelWidth - 8, y: mid, class: 'label', 'text-anchor': 'end', 'dominant-baseline': 'central' }, clip(b.label, chars)),
      svg('rect', { x: g.labelWidth, y: mid - g.bar / 2, width: b.width, height: g.bar, rx: 3, class: 'bar' }),
      svg('text', { x: g.labelWidth + b.width + 6, y: mid, class: 'value', 'dominant-baseline': 'central' }, String(b.value)),
    );
  }
  return chart;
}

/** One segment of a stacked bar. */
export interface Segment {
  readonly key: string;
  readonly value: number;
  readonly x: number;
  readonly width: number;
}

/** Splits `width` among `parts` in proportion (rounded so the segments meet exactly). */
export function stackLayout(parts: readonly { key: string; value: number }[], width: number): Segment[] {
  const total = parts.reduce((s, p) => s + Math.max(0, p.value), 0);
  let acc = 0;
  return parts.map((p) => {
    const x = total === 0 ? 0 : Math.round((acc / total) * width * 10) / 10;
    acc += Math.max(0, p.value);
    const end = total === 0 ? 0 : Math.round((acc / total) * width * 10) / 10;
    return { key: p.key, value: p.value, x, width: end - x };
  });
}

/** One stacked bar (e.g. counsellors by state), each segment a class `seg-<key>`. */
export function stackedBar(parts: readonly { key: string; label: string; value: number }[], describe: string): SVGSVGElement {
  const width = 480;
  const summary = parts.map((p) => `${p.label} ${p.value}`).join(', ');
  const chart = canvas('stack', width, 24, `${describe}: ${summary}`);
  chart.append(svg('rect', { x: 0, y: 0, width, height: 24, rx: 4, class: 'track' }));
  for (const s of stackLayout(parts, width)) {
    if (s.width > 0) chart.append(svg('rect', { x: s.x, y: 0, width: s.width, height: 24, class: `seg-${s.key}` }));
  }
  return chart;
}

/** Geometry of the sparkline, in viewBox units. */
export const SPARK = { width: 480, height: 90, pad: 4 } as const;

/**
 * The polyline points for samples over the last `windowS` seconds ending at `now`: time runs
 * left to right across the whole window, values scale to `top`. Steps, not slopes: a count
 * holds until the next sample.
 */
export function sparkPoints(samples: readonly { at: number; value: number }[], now: number, windowS: number, top: number): string {
  const x = (at: number): number => Math.round(((at - (now - windowS)) / windowS) * SPARK.width * 10) / 10;
  const y = (v: number): number => Math.round((SPARK.height - SPARK.pad - (v / top) * (SPARK.height - 2 * SPARK.pad)) * 10) / 10;
  const pts: string[] = [];
  samples.forEach((s, i) => {
    const px = Math.max(0, x(s.at));
    if (i > 0) pts.push(`${px},${y(samples[i - 1]!.value)}`);
    pts.push(`${px},${y(s.value)}`);
  });
  const last = samples[samples.length - 1];
  if (last !== undefined) pts.push(`${SPARK.width},${y(last.value)}`);
  return pts.join(' ');
}

/** The sparkline with its top value marked; `describe` is its accessible name. */
export function sparkline(samples: readonly { at: number; value: number }[], now: number, windowS: number, describe: string): SVGSVGElement {
  const top = niceMax(Math.max(0, ...samples.map((s) => s.value)), 4);
  const chart = canvas('spark', SPARK.width, SPARK.height, describe);
  const yTop = SPARK.pad;
  chart.append(
    svg('line', { x1: 0, x2: SPARK.width, y1: yTop, y2: yTop, class: 'grid' }),
    svg('line', { x1: 0, x2: SPARK.width, y1: SPARK.height - SPARK.pad, y2: SPARK.height - SPARK.pad, class: 'axis' }),
    svg('text', { x: 2, y: yTop + 12, class: 'tick' }, String(top)),
  );
  if (samples.length > 0) chart.append(svg('polyline', { points: sparkPoints(samples, now, windowS, top), class: 'line' }));
  return chart;
}
