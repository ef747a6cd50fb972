/**
 * Readers for JSON from the server: each takes an `unknown` and either returns a typed value
 * or throws {@link ShapeError} naming where the body went wrong. Nothing from the network is
 * used before it has passed through one of these.
 */

/** A body that does not have the shape the contract promises. */
export class ShapeError extends Error {
  constructor(readonly at: string, expected: string) {
    super(`${at}: expected ${expected}`);
    this.name = 'ShapeError';
  }
}

/** The longest text the staff pages accept in any field (names, messages, keys, URIs). */
export const MAX_TEXT = 4096;
/** The most items accepted in any list or tally. */
export const MAX_ITEMS = 10_000;

/** A plain JSON object (not an array, not null). */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A plain JSON object. */
export function obj(v: unknown, at: string): Record<string, unknown> {
  if (!isRecord(v)) throw new ShapeError(at, 'an object');
  return v;
}

/** A string of at most `max` characters (`min` at least). */
export function text(v: unknown, at: string, max = MAX_TEXT, min = 0): string {
  if (typeof v !== 'string' || v.length > max || v.length < min) throw new ShapeError(at, `a string of ${min}–${max} characters`);
  return v;
}

/** A non-negative safe integer (counts, seconds, unix times). */
export function count(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ShapeError(at, 'a non-negative integer');
  return v;
}

/** A finite number between 0 and 1. */
export function ratio(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new ShapeError(at, 'a number from 0 to 1');
  return v;
}

/** A boolean. */
export function flag(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new ShapeError(at, 'true or false');
  return v;
}

/** One of the `allowed` strings. */
export function oneOf<T extends string>(v: unknown, at: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new ShapeError(at, allowed.map((a) => `"${a}"`).join(' or '));
  return found;
}

/** `null`, or what `read` makes of `v`. */
export function nullOr<T>(v: unknown, at: string, read: (v: unknown, at: string) => T): T | null {
  return v === null ? null : read(v, at);
}

/** An array of at most `max` items, each read by `item`. */
export function listOf<T>(v: unknown, at: string, item: (v: unknown, at: string) => T, max = MAX_ITEMS): T[] {
  if (!Array.isArray(v) || v.length > max) throw new ShapeError(at, `an array of at most ${max} items`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
}

/** A name and how many: one entry of a {@link tally}. */
export interface Tallied {
  readonly label: string;
  readonly count: number;
}

/** An object of counts (`{"chat": 10, "phone": 2}`), as entries in the server's order. */
export function tally(v: unknown, at: string): Tallied[] {
  const o = obj(v, at);
  const entries = Object.entries(o);
  if (entries.length > MAX_ITEMS) throw new ShapeError(at, `at most ${MAX_ITEMS} entries`);
  return entries.map(([label, n]) => ({ label: text(label, `${at} key`, 200, 1), count: count(n, `${at}.${label}`) }));
}

/** An object of strings (`{"da": "Exit", "en": "Getting out"}`). */
export function strings(v: unknown, at: string, max = 200): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(obj(v, at))) out[text(k, `${at} key`, 32, 1)] = text(s, `${at}.${k}`, max);
  return out;
}
