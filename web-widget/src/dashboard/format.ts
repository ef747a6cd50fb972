/** How the dashboard writes durations, rates and times: short, and never falsely precise. */

/** A wait in seconds as "<1 min", "4 min", "1 h 05 min". */
export function formatWait(seconds: number): string {
  if (seconds < 60) return '<1 min';
  const min = Math.floor(seconds / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** A wait as screen readers should hear it ("less than a minute", "4 minutes"). */
export function spokenWait(seconds: number): string {
  if (seconds < 60) return 'less than a minute';
  const min = Math.floor(seconds / 60);
  if (min < 60) return `${min} minute${min === 1 ? '' : 's'}`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return `${h} hour${h === 1 ? '' : 's'}${rest > 0 ? ` ${rest} minute${rest === 1 ? '' : 's'}` : ''}`;
}

/** A ratio (0–1) as a whole percentage; "<1%" for small non-zero values. */
export function formatPercent(ratio: number): string {
  if (ratio > 0 && ratio < 0.005) return '<1%';
  return `${Math.round(ratio * 100)}%`;
}

/** Unix seconds as local "HH:MM:SS". */
export function formatClock(unixS: number): string {
  const d = new Date(unixS * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Unix seconds as "2026-11-23" (local date). */
export function formatDate(unixS: number): string {
  const d = new Date(unixS * 1000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A tag such as `on_break` or `exit_plan` as words: "on break", "exit plan". */
export function tagWords(tag: string): string {
  return tag.replace(/[_-]+/g, ' ');
}

/** Language codes lyt knows, in English. */
const LANGUAGE_NAMES: Readonly<Record<string, string>> = { da: 'Danish', en: 'English', th: 'Thai', ro: 'Romanian', bg: 'Bulgarian' };

/** A language code as its English name ("da" → "Danish"); unknown codes as they are. */
export function languageName(code: string): string {
  return LANGUAGE_NAMES[code] ?? code;
}
