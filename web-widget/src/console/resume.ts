/**
 * The one thing the console keeps across a reload: whether the counsellor was on duty and
 * with which languages, topics and capacity (sessionStorage, this tab only, cleared at the
 * end of the shift and at log out). Never keys, tokens or anything said in a chat.
 */

import type { DutySettings } from './state.js';

const KEY = 'lyt-console-duty';
const SLUG = /^[a-z0-9_-]{1,32}$/;

/** Duty settings and whether a break was on. */
export interface SavedDuty extends DutySettings {
  readonly onBreak: boolean;
}

/** The storage surface used (`sessionStorage` in the browser, a map in tests). */
export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function saveDuty(storage: StorageLike, duty: SavedDuty): void {
  storage.setItem(KEY, JSON.stringify({ langs: duty.langs, topics: duty.topics, capacity: duty.capacity, onBreak: duty.onBreak }));
}

export function clearDuty(storage: StorageLike): void {
  storage.removeItem(KEY);
}

/** The saved duty, or `undefined` when there is none or it is not exactly what {@link saveDuty} writes. */
export function loadDuty(storage: StorageLike): SavedDuty | undefined {
  try {
    const v: unknown = JSON.parse(storage.getItem(KEY) ?? 'null');
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    const slugs = (x: unknown): x is string[] => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string' && SLUG.test(s));
    const cap = o['capacity'];
    if (!slugs(o['langs']) || !slugs(o['topics']) || typeof cap !== 'number' || !Number.isSafeInteger(cap) || cap < 1 || typeof o['onBreak'] !== 'boolean') return undefined;
    return { langs: o['langs'], topics: o['topics'], capacity: cap, onBreak: o['onBreak'] };
  } catch {
    return undefined;
  }
}
